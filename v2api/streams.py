"""Reading request bodies as streams, never whole (``request.body`` would load a 10 GB layer).

Under WSGI Django reads a body only up to Content-Length, so a chunked body (Docker sends layers
that way) reads as empty through ``request.read``; for those we read the server's ``wsgi.input``,
which gunicorn de-chunks. Under Wharf's own gunicorn worker both kinds are read through its
``wharf.body_pieces`` instead (``registry_site.worker.body_pieces``), which skips gunicorn's buffering.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from observability.metrics import BYTES_RECEIVED
from packages_app.exceptions import BlobUploadInvalid, SizeInvalid, TooLarge

CHUNK_SIZE = 1 << 20


def _django_request(request: Any) -> Any:
    return getattr(request, "_request", request)


def is_chunked(request: Any) -> bool:
    return "chunked" in _django_request(request).META.get("HTTP_TRANSFER_ENCODING", "").lower()


def body_length(request: Any) -> int | None:
    """Content-Length, or None for a chunked body."""
    if is_chunked(request):
        return None
    value = _django_request(request).META.get("CONTENT_LENGTH") or "0"
    try:
        length = int(value)
    except ValueError:
        raise SizeInvalid("Content-Length is not a number") from None
    if length < 0:
        raise SizeInvalid("Content-Length is negative")
    return length


_STOPPED = "the client stopped sending the request body (read timeout)"


def _read(read: Any, size: int) -> bytes:
    """One read of the body; a client that stalls past the server's read timeout (``registry_site.worker``)
    is refused, so that a chunked body is never taken as complete when it merely stopped."""
    try:
        return bytes(read(size))
    except OSError:  # the read timed out (Django calls it UnreadablePostError) or the connection broke
        raise BlobUploadInvalid(_STOPPED) from None


def _pieces(pieces: Iterator[Any]) -> Iterator[Any]:
    """The server's ``wharf.body_pieces``, counted, with its errors said as the spec's."""
    while True:
        try:
            data = next(pieces)
        except StopIteration:
            return
        except OSError:  # as in _read
            raise BlobUploadInvalid(_STOPPED) from None
        except ValueError as error:  # a malformed chunked body
            raise BlobUploadInvalid(str(error)) from None
        BYTES_RECEIVED.inc(len(data))
        yield data


def body_chunks(request: Any) -> Iterator[bytes | memoryview]:
    """The body in pieces of at most CHUNK_SIZE bytes. A piece may be a view of a buffer the next piece
    reuses: use it (hash it, write it, copy it) before asking for the next."""
    django_request = _django_request(request)
    offer = django_request.META.get("wharf.body_pieces")
    if offer is not None and (pieces := offer()) is not None:
        yield from _pieces(pieces)
        return
    if is_chunked(request):
        stream = django_request.META["wsgi.input"]
        while data := _read(stream.read, CHUNK_SIZE):
            BYTES_RECEIVED.inc(len(data))
            yield data
        return
    remaining = body_length(request) or 0
    while remaining > 0:
        data = _read(django_request.read, min(CHUNK_SIZE, remaining))
        if not data:
            return  # the client went away; the caller sees fewer bytes than Content-Length
        remaining -= len(data)
        BYTES_RECEIVED.inc(len(data))
        yield data


def read_limited(request: Any, limit: int) -> bytes:
    """A small body (a manifest) read whole, refused before reading if it is over ``limit``."""
    length = body_length(request)
    if length is not None and length > limit:
        raise TooLarge(f"body is larger than {limit} bytes", detail={"limit": limit})
    parts, total = [], 0
    for data in body_chunks(request):
        total += len(data)
        if total > limit:
            raise TooLarge(f"body is larger than {limit} bytes", detail={"limit": limit})
        parts.append(bytes(data))  # a piece's buffer may be reused by the next one
    return b"".join(parts)
