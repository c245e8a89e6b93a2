"""The benchmark's HTTP client (``http.client``, streaming): requests, blob pushes three ways, and a
pull that hashes what it reads. MB is 10**6 bytes, MiB 2**20."""

from __future__ import annotations

import hashlib
import http.client
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

MiB = 1 << 20
CHUNK = MiB


def mbps(nbytes: int, seconds: float) -> float:
    return nbytes / seconds / 1e6


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def call(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    expect: int | None = None,
) -> Reply:
    """One request; the whole (small) answer is read so the connection can be reused."""
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    reply = Reply(response.status, response.headers, response.read())
    if expect is not None and reply.status != expect:
        raise RuntimeError(f"{method} {path}: {reply.status} {reply.body[:500]!r}")
    return reply


def file_chunks(path: Path, offset: int, length: int) -> Iterator[bytes]:
    with open(path, "rb") as source:
        source.seek(offset)
        while length > 0:
            data = source.read(min(CHUNK, length))
            if not data:
                raise RuntimeError(f"{path} is shorter than expected")
            length -= len(data)
            yield data


def digest_of(path: Path, offset: int, length: int) -> str:
    hasher = hashlib.sha256()
    for data in file_chunks(path, offset, length):
        hasher.update(data)
    return f"sha256:{hasher.hexdigest()}"


def with_digest(location: str, digest: str) -> str:
    return f"{location}{'&' if '?' in location else '?'}digest={quote(digest)}"


def start_upload(conn: http.client.HTTPConnection, name: str) -> str:
    location = call(conn, "POST", f"/v2/{name}/blobs/uploads/", headers={"Content-Length": "0"}, expect=202).headers
    return str(location["Location"])


def push_put(conn: http.client.HTTPConnection, name: str, src: Path, offset: int, length: int, digest: str) -> None:
    """POST, then the whole blob in one PUT ?digest= with Content-Length."""
    location = start_upload(conn, name)
    headers = {"Content-Length": str(length), "Content-Type": "application/octet-stream"}
    call(conn, "PUT", with_digest(location, digest), file_chunks(src, offset, length), headers, expect=201)


def push_chunked_encoding(
    conn: http.client.HTTPConnection, name: str, src: Path, offset: int, length: int, digest: str
) -> None:
    """POST, one PATCH with Transfer-Encoding: chunked (no Content-Length), then PUT ?digest= (docker)."""
    location = start_upload(conn, name)
    headers = {"Content-Type": "application/octet-stream"}  # http.client adds Transfer-Encoding: chunked
    location = call(conn, "PATCH", location, file_chunks(src, offset, length), headers, expect=202).headers["Location"]
    call(conn, "PUT", with_digest(location, digest), headers={"Content-Length": "0"}, expect=201)


def push_patches(conn: http.client.HTTPConnection, name: str, src: Path, length: int, digest: str, chunk: int) -> None:
    """POST, PATCH requests of ``chunk`` bytes with Content-Range, then PUT ?digest=."""
    location = start_upload(conn, name)
    for start in range(0, length, chunk):
        size = min(chunk, length - start)
        headers = {"Content-Length": str(size), "Content-Range": f"{start}-{start + size - 1}"}
        body = file_chunks(src, start, size)
        location = call(conn, "PATCH", location, body, headers, expect=202).headers["Location"]
    call(conn, "PUT", with_digest(location, digest), headers={"Content-Length": "0"}, expect=201)


def download(conn: http.client.HTTPConnection, path: str, digest: str | None = None) -> int:
    """GET ``path`` into a 1 MiB buffer, hashing as it arrives; checks the digest if given."""
    conn.request("GET", path)
    response = conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status} {response.read()[:500]!r}")
    hasher, buffer, total = hashlib.sha256(), bytearray(CHUNK), 0
    view = memoryview(buffer)
    while n := response.readinto(view):
        hasher.update(view[:n])
        total += n
    if digest is not None and f"sha256:{hasher.hexdigest()}" != digest:
        raise RuntimeError(f"GET {path}: the body does not match {digest}")
    return total


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started
