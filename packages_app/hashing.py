"""Resumable SHA-256 / SHA-512 whose state can be saved between requests.

A chunked upload (distribution-spec "Pushing a blob in chunks") is a series of PATCH requests that may
land on different worker processes. ``hashlib`` objects cannot be serialised, and re-reading the
partial blob on every request would make an upload quadratic. OpenSSL's one-shot digest API keeps
its whole state in a plain, fixed-size C struct (``SHA256_CTX``, ``SHA512_CTX``), so we drive it
through ctypes and store the struct's bytes with the upload. The state is only read back by the
same machine kind (same OpenSSL, same endianness) that wrote it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib

_lib = ctypes.CDLL(ctypes.util.find_library("crypto") or "libcrypto.so.3")

# struct sizes from openssl/sha.h: SHA256_CTX = 8*4 + 2*4 + 16*4 + 2*4; SHA512_CTX = 8*8 + 2*8 + 128 + 2*4
_CTX_SIZE = {"sha256": 112, "sha512": 216}
_DIGEST_SIZE = {"sha256": 32, "sha512": 64}
_FUNCS = {
    "sha256": (_lib.SHA256_Init, _lib.SHA256_Update, _lib.SHA256_Final),
    "sha512": (_lib.SHA512_Init, _lib.SHA512_Update, _lib.SHA512_Final),
}
for _init, _update, _final in _FUNCS.values():
    _init.argtypes = [ctypes.c_void_p]
    _update.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    _final.argtypes = [ctypes.c_char_p, ctypes.c_void_p]


class ResumableHash:
    """A hash of ``algorithm`` ("sha256" or "sha512") that can be saved with ``state()`` and resumed."""

    def __init__(self, algorithm: str = "sha256", state: bytes | memoryview | None = None) -> None:
        if algorithm not in _FUNCS:
            raise ValueError(f"unsupported algorithm {algorithm!r}")
        self.algorithm = algorithm
        size = _CTX_SIZE[algorithm]
        if state is not None:  # an empty state is a corrupt one, not a fresh start
            if len(state) != size:
                raise ValueError("saved hash state has the wrong size")
            self._ctx = ctypes.create_string_buffer(bytes(state), size)
        else:
            self._ctx = ctypes.create_string_buffer(size)
            _FUNCS[algorithm][0](self._ctx)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Hash ``data``: bytes, or a writable buffer (a view of a reused receive buffer), without a copy."""
        if data:
            pointer = data if isinstance(data, bytes) else (ctypes.c_char * len(data)).from_buffer(data)
            _FUNCS[self.algorithm][1](self._ctx, pointer, len(data))

    def state(self) -> bytes:
        return self._ctx.raw

    def hexdigest(self) -> str:
        """The digest of everything so far; the hash itself can still be updated afterwards."""
        copy = ctypes.create_string_buffer(self._ctx.raw, len(self._ctx))
        out = ctypes.create_string_buffer(_DIGEST_SIZE[self.algorithm])
        _FUNCS[self.algorithm][2](out, copy)
        return out.raw.hex()


def digest_bytes(data: bytes, algorithm: str = "sha256") -> str:
    """``algorithm:hex`` of a small in-memory document such as a manifest."""
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"
