"""``registry_site.worker.body_pieces``: a request body read past gunicorn's buffering, against gunicorn's
own request parser on a real socket pair. The pieces must add up to exactly the body, whatever gunicorn
read ahead with the head; bytes of the next (pipelined) request must stay gunicorn's; a body already
touched through ``wsgi.input`` is not offered; a stalled or malformed body marks the connection unusable."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from gunicorn.config import Config
from gunicorn.http.errors import InvalidChunkSize
from gunicorn.http.parser import RequestParser

from registry_site.worker import BODY_PIECE, Pieces, _TimedSocket, body_pieces

NEXT = b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n"
Pair = tuple[socket.socket, socket.socket]


def requests(server: socket.socket) -> Iterator[Any]:
    """The requests gunicorn parses off the server side of the pair."""
    return RequestParser(Config(), server, ("127.0.0.1", 1))


@pytest.fixture
def pair() -> Iterator[Pair]:
    server, client = socket.socketpair()
    server.settimeout(5)
    yield server, client
    server.close()
    client.close()


def send_later(sock: socket.socket, *parts: bytes, pause: float = 0) -> threading.Thread:
    """Send ``parts`` from another thread (a body larger than the socket buffer would block us),
    ``pause`` seconds apart."""

    def run() -> None:
        for part in parts:
            sock.sendall(part)
            time.sleep(pause)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def offered(request: Any) -> Pieces:
    """The pieces ``body_pieces`` offers for ``request``'s body, which it must offer."""
    pieces = body_pieces({"wsgi.input": request.body})
    assert pieces is not None
    return pieces


def joined(pieces: Iterator[bytes | memoryview]) -> tuple[bytes, int]:
    """The pieces' bytes, copied as each arrives (a piece's buffer may be reused), and their count."""
    out, count = bytearray(), 0
    for piece in pieces:
        out += piece
        count += 1
    return bytes(out), count


def chunked(data: bytes, piece: int) -> bytes:
    parts = [data[i : i + piece] for i in range(0, len(data), piece)]
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"


def test_a_content_length_body_arrives_whole_and_the_next_request_stays_parseable(pair: Pair) -> None:
    server, client = pair
    data = os.urandom(3 * BODY_PIECE + 12345)
    head = b"PATCH /v2/a/blobs/uploads/x HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(data)
    # the head with the start of the body in one send, as a client usually does, then the rest and a pipelined GET
    sender = send_later(client, head + data[:1000], data[1000:] + NEXT)
    parser = requests(server)
    request = next(parser)
    pieces = offered(request)
    body, count = joined(pieces)
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()
    assert count >= 4  # received into a buffer of BODY_PIECE bytes, not whole
    assert request.body.read() == b""  # gunicorn sees the body as consumed
    following = next(parser)
    assert (following.method, following.path) == ("GET", "/v2/")
    sender.join()


def test_a_small_body_read_ahead_with_the_head_is_served_from_gunicorns_buffer(pair: Pair) -> None:
    server, client = pair
    client.sendall(b"PUT /v2/a/manifests/v1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" + NEXT)
    parser = requests(server)
    pieces = offered(next(parser))
    assert joined(pieces) == (b"hello", 1)
    assert next(parser).path == "/v2/"


def test_a_chunked_body_comes_from_gunicorns_parser_and_its_trailers_are_read(pair: Pair) -> None:
    server, client = pair
    data = os.urandom(2 * BODY_PIECE + 77)
    head = b"PATCH /v2/a/blobs/uploads/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    body = chunked(data, 300_000)[:-2] + b"X-Check: 1\r\n\r\n"  # a trailer field after the last chunk
    sender = send_later(client, head, body + NEXT)
    parser = requests(server)
    request = next(parser)
    pieces = offered(request)
    assert joined(pieces)[0] == data
    assert request.trailers == [("X-CHECK", "1")]
    assert request.body.read() == b""
    assert next(parser).path == "/v2/"
    sender.join()


def test_a_body_already_read_through_wsgi_input_is_not_offered(pair: Pair) -> None:
    server, client = pair
    client.sendall(b"PUT /v2/a/manifests/v1 HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789")
    request = next(requests(server))
    assert request.body.read(3) == b"012"
    assert body_pieces({"wsgi.input": request.body}) is None
    assert request.body.read() == b"3456789"
    assert body_pieces({}) is None  # another server's environ: nothing to offer


def test_a_body_cut_short_yields_what_arrived_and_stops(pair: Pair) -> None:
    server, client = pair
    client.sendall(b"PATCH /u HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"a" * 70000)
    client.shutdown(socket.SHUT_WR)
    request = next(requests(server))
    pieces = offered(request)
    assert joined(pieces)[0] == b"a" * 70000  # the caller compares with Content-Length and refuses


def test_a_stalled_body_times_out_and_the_connection_is_not_reused(pair: Pair) -> None:
    server, client = pair
    server.__class__ = _TimedSocket  # as the worker's accepted sockets are: a read waits at most its timeout
    server.settimeout(0.3)
    client.sendall(b"PATCH /u HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"a" * 10)
    request = next(requests(server))
    pieces = offered(request)
    assert bytes(next(pieces)) == b"a" * 10
    with pytest.raises(TimeoutError):
        next(pieces)
    assert request.body.failed


def test_a_malformed_chunk_size_is_a_value_error_and_the_connection_is_not_reused(pair: Pair) -> None:
    server, client = pair
    client.sendall(b"PATCH /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n")
    request = next(requests(server))
    pieces = offered(request)
    assert next(pieces) == b"hello"
    with pytest.raises(ValueError, match="malformed chunked body") as raised:
        next(pieces)
    assert isinstance(raised.value.__cause__, InvalidChunkSize)
    assert request.body.failed


def test_tiny_chunks_and_chunks_split_across_sends_are_joined_exactly(pair: Pair) -> None:
    server, client = pair
    data = os.urandom(BODY_PIECE + 5000)
    head = b"PATCH /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    encoded = b"1;name=value\r\nA\r\n" + chunked(b"B" * 3, 1)[:-5] + chunked(data, 400_000)
    # cut everywhere that matters: inside a size line, a chunk's data and its CRLF
    cuts = [
        0,
        len(head) + 1,
        len(head) + 5,
        len(head) + 17,
        len(head) + 40_000,
        len(head) + 40_001,
        len(head + encoded),
    ]
    whole = head + encoded + NEXT
    sender = send_later(client, *(whole[a:b] for a, b in zip(cuts, [*cuts[1:], len(whole)], strict=True)))
    parser = requests(server)
    pieces = offered(next(parser))
    assert joined(pieces)[0] == b"ABBB" + data
    assert next(parser).path == "/v2/"
    sender.join()


def test_a_chunk_without_its_terminator_is_malformed(pair: Pair) -> None:
    server, client = pair
    client.sendall(b"PATCH /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n")
    request = next(requests(server))
    pieces = offered(request)
    assert bytes(next(pieces)) == b"hello"
    with pytest.raises(ValueError, match="malformed chunked body"):
        next(pieces)
    assert request.body.failed


def test_a_chunked_body_cut_short_inside_a_chunk_is_an_os_error(pair: Pair) -> None:
    server, client = pair
    client.sendall(b"PATCH /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + b"100000\r\n" + b"a" * 9000)
    client.shutdown(socket.SHUT_WR)
    request = next(requests(server))
    pieces = offered(request)
    with pytest.raises(OSError):  # noqa: PT011 -- gunicorn's NoMoreData: the client stopped sending
        joined(pieces)
    assert request.body.failed


def test_a_chunked_body_already_read_through_wsgi_input_is_not_offered(pair: Pair) -> None:
    server, client = pair
    client.sendall(
        b"PATCH /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n"
    )
    request = next(requests(server))
    assert request.body.read(3) == b"abc"
    assert body_pieces({"wsgi.input": request.body}) is None
    assert request.body.read() == b"def"


def test_a_chunked_body_left_half_read_closes_the_connection(pair: Pair) -> None:
    """A caller that stops early (a refusal mid-body) must not let gunicorn parse the rest of the body as
    the next request: the rest could be one, smuggled in the body."""
    server, client = pair
    smuggled = b"GET /v2/private/app/manifests/v1 HTTP/1.1\r\nHost: x\r\n\r\n"
    head = b"PATCH /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    client.sendall(head + b"5\r\nhello\r\n" + b"%x\r\n" % len(smuggled) + smuggled + b"\r\n0\r\n\r\n")
    parser = requests(server)
    request = next(parser)
    pieces = offered(request)
    assert bytes(next(pieces)) == b"hello"
    pieces.close()
    assert request.body.failed
    with pytest.raises(StopIteration):
        next(parser)  # gunicorn serves nothing more on this connection


def test_a_content_length_body_left_half_read_is_drained_by_gunicorn(pair: Pair) -> None:
    server, client = pair
    data = os.urandom(3 * BODY_PIECE)
    head = b"PATCH /u HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(data)
    sender = send_later(client, head, data + NEXT)
    parser = requests(server)
    request = next(parser)
    pieces = offered(request)
    next(pieces)
    next(pieces)
    pieces.close()
    assert not request.body.failed
    assert next(parser).path == "/v2/"  # the rest of the body was skipped, exactly
    sender.join()
