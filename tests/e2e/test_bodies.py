"""Blob bodies through a real gunicorn with Wharf's worker, which reads them past gunicorn's buffering
(``registry_site.worker.body_pieces``): several MiB with Content-Length and chunked, in one PUT and in
PATCHes, on one kept-alive connection with a request pipelined behind the body; what is stored must
be exactly what was sent. A body cut short or malformed is refused with the spec's error and commits
nothing."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket

import pytest

from packages_app.models import Blob, Upload
from tests.e2e.conftest import WharfServer

pytestmark = pytest.mark.e2e

SIZE = 5 * (1 << 20) + 4321  # more than four receive buffers, and not a multiple of one


def digest_of(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def with_digest(location: str, data: bytes) -> str:
    return f"{location}{'&' if '?' in location else '?'}digest={digest_of(data)}"


def pulled(server: WharfServer, name: str, digest: str) -> bytes:
    reply = server.request("GET", f"/v2/{name}/blobs/{digest}")
    assert reply.status == 200, reply.body[:300]
    return reply.body


def start(conn: http.client.HTTPConnection, name: str) -> str:
    conn.request("POST", f"/v2/{name}/blobs/uploads/", headers={"Content-Length": "0"})
    reply = conn.getresponse()
    reply.read()
    assert reply.status == 202
    return str(reply.headers["Location"])


def upload_path(server: WharfServer, name: str) -> str:
    """A new upload session's path, for requests written by hand."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    location = start(conn, name)
    conn.close()
    return location.replace(f"http://{server.host}", "")


def sent_whole(server: WharfServer, raw: bytes, *, then_close: bool = False) -> bytes:
    """Send ``raw`` on a new connection (``then_close``: and stop sending) and read until the server closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        sock.sendall(raw)
        if then_close:
            sock.shutdown(socket.SHUT_WR)
        reply = b""
        while more := sock.recv(65536):
            reply += more
    return reply


def answer(conn: http.client.HTTPConnection) -> tuple[int, http.client.HTTPMessage, bytes]:
    reply = conn.getresponse()
    return reply.status, reply.headers, reply.read()


def test_large_bodies_with_and_without_a_length_on_one_connection_are_stored_exactly(
    wharf_server: WharfServer,
) -> None:
    data = [os.urandom(SIZE) for _ in range(3)]
    conn = http.client.HTTPConnection("127.0.0.1", wharf_server.port, timeout=60)
    # one PUT ?digest= with Content-Length
    location = start(conn, "bodies/app")
    conn.request("PUT", with_digest(location, data[0]), body=data[0])
    assert answer(conn)[0] == 201
    # PATCH with Transfer-Encoding: chunked (http.client chunks an iterable body), then PUT ?digest=
    location = start(conn, "bodies/app")
    pieces = (data[1][i : i + 700_000] for i in range(0, SIZE, 700_000))
    conn.request("PATCH", location, body=pieces, headers={"Content-Type": "application/octet-stream"})
    status, headers, _ = answer(conn)
    assert status == 202
    assert headers["Range"] == f"0-{SIZE - 1}"
    conn.request("PUT", with_digest(headers["Location"], data[1]), headers={"Content-Length": "0"})
    assert answer(conn)[0] == 201
    # two Content-Length PATCHes, then the PUT
    location = start(conn, "bodies/app")
    half = SIZE // 2
    for begin, end in ((0, half), (half, SIZE)):
        sent = {"Content-Range": f"{begin}-{end - 1}", "Content-Type": "application/octet-stream"}
        conn.request("PATCH", location, body=data[2][begin:end], headers=sent)
        status, reply_headers, _ = answer(conn)
        assert status == 202
        assert reply_headers["Range"] == f"0-{end - 1}"
        location = reply_headers["Location"]
    conn.request("PUT", with_digest(location, data[2]), headers={"Content-Length": "0"})
    assert answer(conn)[0] == 201
    conn.close()
    for blob in data:
        assert pulled(wharf_server, "bodies/app", digest_of(blob)) == blob


def test_a_request_pipelined_behind_a_body_is_answered_after_it(wharf_server: WharfServer) -> None:
    data = os.urandom(SIZE)
    path = upload_path(wharf_server, "bodies/pipe")
    put = f"PUT {with_digest(path, data)} HTTP/1.1\r\nHost: x\r\nContent-Length: {SIZE}\r\n\r\n".encode()
    get = b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", wharf_server.port), timeout=60) as sock:
        sock.sendall(put + data + get)  # the GET's bytes arrive while the PUT's body is being read
        replies = b""
        while replies.count(b"HTTP/1.1 ") < 2 or not replies.endswith(b"{}"):
            more = sock.recv(65536)
            assert more, replies
            replies += more
    first, second = replies.split(b"HTTP/1.1 ")[1:3]
    assert first.startswith(b"201"), first[:300]
    assert second.startswith(b"200"), second[:300]
    assert pulled(wharf_server, "bodies/pipe", digest_of(data)) == data


def test_a_body_cut_short_is_refused_and_commits_nothing(wharf_server: WharfServer) -> None:
    path = upload_path(wharf_server, "bodies/short")
    head = f"PATCH {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {SIZE}\r\n\r\n".encode()
    # the client goes away 2 MiB before the end
    reply = sent_whole(wharf_server, head + os.urandom(3 * (1 << 20)), then_close=True)
    assert reply.startswith(b"HTTP/1.1 400"), reply[:300]
    assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["errors"][0]["code"] == "BLOB_UPLOAD_INVALID"
    assert Upload.objects.get(package__name="bodies/short").offset == 0


def test_a_malformed_chunked_body_is_refused_and_commits_nothing(wharf_server: WharfServer) -> None:
    path = upload_path(wharf_server, "bodies/bad")
    head = f"PATCH {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    reply = sent_whole(wharf_server, head + b"100000\r\n" + os.urandom(1 << 20) + b"\r\nnot-hex\r\n")
    assert reply.startswith(b"HTTP/1.1 400"), reply[:300]
    assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["errors"][0]["code"] == "BLOB_UPLOAD_INVALID"
    assert Upload.objects.get(package__name="bodies/bad").offset == 0
    assert not Blob.objects.exists()
