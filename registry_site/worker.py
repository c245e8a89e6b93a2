"""gunicorn's gthread worker, made safe against slow and idle clients (README "Serving").

Stock gthread parks idle keep-alive connections in its poller, but as soon as one byte of a request
arrives it hands the connection to a thread, which then blocks until the whole head (and body) is
there: a few dozen clients sending a byte every few seconds hold every thread and the registry stops
answering. This worker changes three things:

* the request head -- and a small body (``SMALL_BODY``: manifests, token forms) -- is read by the
  worker's poller, without a thread, and must be complete within ``WHARF_HEADER_TIMEOUT``; a client
  that is slower gets ``408`` and is closed, and the application never saw its request;
* every later read (a large body) and write waits at most ``WHARF_READ_TIMEOUT`` for the client; a
  stalled upload is cut off there and commits nothing (a PATCH records its chunk only once it has
  read all of it), and the connection is closed rather than kept alive;
* blob transfers (bodies larger than ``SMALL_BODY``, chunked bodies, blob GETs) run on a thread pool
  of their own (``WHARF_TRANSFER_THREADS``), so slow uploads and downloads can only wait behind each
  other, never in front of a manifest GET or ``GET /v2/``.

It also offers the application a cheaper way to read a large body than ``wsgi.input``: the environ key
``wharf.body_pieces`` (``body_pieces``). gunicorn's ``Body`` re-buffers every piece through two or three
``BytesIO`` objects; py-spy put 60 % of a 1 GiB push's time in those copies (bench/README.md).
"""

from __future__ import annotations

import contextlib
import errno
import inspect
import os
import re
import selectors
import socket
import threading
import time
from collections.abc import Generator
from concurrent import futures
from functools import partial
from typing import Any

from gunicorn import util
from gunicorn.http.body import Body, ChunkedReader, LengthReader
from gunicorn.http.errors import ChunkMissingTerminator, NoMoreData, ParseException
from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers.gthread import TConn, ThreadWorker

BODY_PIECE = 1 << 20  # the reused buffer a large body (with a length or chunked) is received into
SMALL_BODY = 64 * 1024  # bodies up to this size are read before the request reaches a thread
MAX_HEAD = 64 * 1024  # gunicorn's own limits (request line, header fields) are well below this
# What gunicorn answers to bytes that are not HTTP: Go clients (docker) then know the port speaks plain
# HTTP and fall back to it; a bare close would be an error to them ("EOF").
_NOT_HTTP_REPLY = b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
_TIMEOUT_REPLY = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[^\r\n]*chunked", re.IGNORECASE)
_BLOB_GET = re.compile(rb"^GET /v2/\S+/blobs/", re.IGNORECASE)

_reads = threading.local()
Pieces = Generator[bytes | memoryview, None, None]  # a body's pieces, each valid until the next


def _seconds(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


class _TimedSocket(socket.socket):
    """A socket whose blocking mode waits at most ``read_timeout`` per read or write.

    gthread sets its sockets blocking before each request; here that means "with a timeout". A read
    that times out is noted for the thread serving the request, so the connection is not kept alive.
    """

    __slots__ = ()
    read_timeout = 30.0

    def setblocking(self, flag: bool) -> None:
        if flag:
            self.settimeout(self.read_timeout)
        else:
            super().setblocking(False)

    def recv(self, *args: Any) -> bytes:
        try:
            return super().recv(*args)
        except TimeoutError:
            _reads.timed_out = True
            raise

    def recv_into(self, *args: Any) -> int:
        try:
            return super().recv_into(*args)
        except TimeoutError:
            _reads.timed_out = True
            raise


class _Conn(TConn):
    """gthread's connection, closed gracefully off the worker's main thread.

    A graceful close half-closes the socket and lingers up to 2 s for the client's FIN (RFC 9112
    9.6); gthread does that on the thread that runs the poller, so a client that keeps trickling
    would freeze every other connection of the worker meanwhile. Here a small pool lingers instead."""

    closer: futures.ThreadPoolExecutor | None = None
    head = b""
    transfer = False

    def close(self, graceful: bool = False) -> None:
        if graceful and self.closer is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_WR)  # the client sees the end of the response at once
            self.sock.setblocking(True)
            self.closer.submit(util.close_graceful, self.sock)
        else:
            super().close(graceful)


def _is_http(head: bytes) -> bool:
    """Whether what arrived so far can begin an HTTP/1 request (a method token, then printable ASCII).
    Anything else -- a TLS ClientHello from a client trying https first, as ``docker manifest`` does --
    is refused with 400 at once rather than waited for: the client then falls back to plain HTTP."""
    line = head.split(b"\r\n", 1)[0][:256]
    return line[:1].isalpha() and all(32 <= byte < 127 for byte in line)


def _wanted_body(head: bytes) -> int:
    """How much body to read before a thread takes the request: a small one whole, else none."""
    if _CHUNKED.search(head):
        return 0
    match = _CONTENT_LENGTH.search(head)
    length = int(match.group(1)) if match else 0
    return length if length <= SMALL_BODY else 0


def _is_transfer(head: bytes) -> bool:
    if _CHUNKED.search(head) or _BLOB_GET.match(head):
        return True
    match = _CONTENT_LENGTH.search(head)
    return bool(match and int(match.group(1)) > SMALL_BODY)


# --- reading a body without gunicorn's re-buffering -----------------------------------------------


def _untouched(body: Any) -> bool:
    """Nothing of the body has been read through ``wsgi.input`` yet."""
    return isinstance(body, Body) and not body.buf.getbuffer().nbytes and not getattr(body, "failed", False)


def _received(sock: socket.socket, buffer: memoryview, wanted: int) -> int:
    """Fill ``buffer[:wanted]`` from the socket; fewer bytes only when the client closed."""
    filled = 0
    while filled < wanted and (got := sock.recv_into(buffer[filled:wanted])):
        filled += got
    return filled


def _length_pieces(body: Any, reader: LengthReader, sock: socket.socket) -> Pieces:
    """A Content-Length body received straight into one reused buffer (``recv_into``): each piece is a
    view of that buffer, valid until the next is asked for. What gunicorn read ahead with the head
    comes first; bytes past the body (a pipelined request) go back to gunicorn's reader."""
    unreader = reader.unreader
    held = unreader.take_buffered()
    if len(held) > reader.length:
        unreader.unread(held[reader.length :])
        held = held[: reader.length]
    if held:
        reader.length -= len(held)
        yield held
    buffer = memoryview(bytearray(min(BODY_PIECE, reader.length)))
    try:
        while reader.length > 0:
            wanted = min(len(buffer), reader.length)
            filled = _received(sock, buffer, wanted)
            reader.length -= filled
            if filled:
                yield buffer[:filled]
            if filled < wanted:
                return  # the client closed early: the caller sees fewer bytes than Content-Length
    except Exception:  # not GeneratorExit: a caller that stops early leaves gunicorn to skip the rest by length
        body.failed = True  # where the next request starts is unknown: the connection is not reused
        raise


def _chunked_pieces(body: Any, reader: ChunkedReader, unreader: SocketUnreader) -> Pieces:
    """A chunked body, de-chunked with gunicorn's own parsing of each chunk-size line and of the
    trailers (``parse_chunk_size``, which calls ``parse_trailers`` at the last chunk), but each chunk's
    data received straight into one reused buffer, as for a Content-Length body."""
    reader.parser = None  # this generator reads the body instead of gunicorn's
    # Until the last chunk and the trailers are read, where the next request starts is unknown: if the
    # caller stops early (a refusal mid-body), gunicorn must close the connection, not parse the rest
    # of this body as a request.
    body.failed = True
    buffer = memoryview(bytearray(BODY_PIECE))
    try:
        size, rest = reader.parse_chunk_size(unreader)
        while size > 0 and rest is not None:  # rest is None only after the last chunk
            if rest:  # the start of the chunk came with its size line
                yield rest[:size]
                size, rest = size - len(rest[:size]), rest[size:]
            while size > 0:
                wanted = min(len(buffer), size)
                filled = _received(unreader.sock, buffer, wanted)
                if filled < wanted:
                    raise NoMoreData(b"")
                size -= filled
                yield buffer[:filled]
            while len(rest) < 2 and (more := unreader.read()):
                rest += more
            if rest[:2] != b"\r\n":
                raise ChunkMissingTerminator(rest[:2])
            size, rest = reader.parse_chunk_size(unreader, data=rest[2:])
    except ParseException as error:  # a bad chunk size or terminator: the client's mistake, said as such
        raise ValueError(f"malformed chunked body: {error}") from error
    body.failed = False


def body_pieces(environ: dict[str, Any]) -> Pieces | None:
    """The request body in pieces, each valid only until the next is asked for, or None when this
    server cannot offer that (then read ``wsgi.input``). Once taken, ``wsgi.input`` must not be read.
    A stalled or broken connection raises OSError (TimeoutError for a read timeout), a malformed
    chunked body ValueError."""
    body: Any = environ.get("wsgi.input")
    if not _untouched(body):
        return None
    reader = body.reader
    if (
        isinstance(reader, ChunkedReader)
        and reader.parser is not None
        and inspect.getgeneratorstate(reader.parser) == inspect.GEN_CREATED  # nothing parsed yet
        and not reader.buf.getbuffer().nbytes
        and isinstance(unreader := reader.req.unreader, SocketUnreader)
    ):
        return _chunked_pieces(body, reader, unreader)
    if type(reader) is LengthReader and isinstance(reader.unreader, SocketUnreader):
        return _length_pieces(body, reader, reader.unreader.sock)
    return None


def _offering_body_pieces(application: Any) -> Any:
    def serve(environ: dict[str, Any], start_response: Any) -> Any:
        environ["wharf.body_pieces"] = partial(body_pieces, environ)
        return application(environ, start_response)

    return serve


class RegistryThreadWorker(ThreadWorker):
    """gthread with poller-side request heads, read timeouts and a separate pool for transfers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = _seconds("WHARF_HEADER_TIMEOUT", 20)
        _TimedSocket.read_timeout = _seconds("WHARF_READ_TIMEOUT", 30)
        self.transfer_threads = int(os.environ.get("WHARF_TRANSFER_THREADS") or self.cfg.threads)
        self.reading: dict[Any, float] = {}  # connections whose head is being read -> deadline
        self.transfers: futures.ThreadPoolExecutor | None = None

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.wsgi = _offering_body_pieces(self.wsgi)

    def init_process(self) -> None:
        self.transfers = futures.ThreadPoolExecutor(self.transfer_threads, thread_name_prefix="transfer")
        _Conn.closer = futures.ThreadPoolExecutor(16, thread_name_prefix="closer")
        super().init_process()

    # --- reading the head in the poller --------------------------------------------------------

    def accept(self, listener: socket.socket) -> None:
        try:
            client, address = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        client.__class__ = _TimedSocket
        self.nr_conns += 1

        self._read_head(_Conn(self.cfg, client, address, listener.getsockname()))

    def on_client_socket_readable(self, conn: Any, client: Any) -> None:
        """A kept-alive connection starts its next request: read its head in the poller too."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._read_head(conn)

    def _read_head(self, conn: Any) -> None:
        conn.sock.setblocking(False)
        conn.head = b""
        self.reading[conn] = time.monotonic() + self.header_timeout
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_head_readable, conn))

    def _on_head_readable(self, conn: Any, client: Any) -> None:
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(conn)
            return
        conn.head += data
        end = conn.head.find(b"\r\n\r\n")
        if end < 0 and not _is_http(conn.head):
            self._drop(conn, _NOT_HTTP_REPLY)  # a TLS hello, say: answered at once, so the client falls back
            return
        if end < 0:
            if len(conn.head) > MAX_HEAD:
                self._drop(conn)
            return
        if len(conn.head) - end - 4 >= _wanted_body(conn.head[: end + 2]):
            self._dispatch(conn, transfer=_is_transfer(conn.head[: end + 2]))

    def _dispatch(self, conn: Any, *, transfer: bool) -> None:
        self.poller.unregister(conn.sock)
        del self.reading[conn]
        conn.data_ready = True
        conn.transfer = transfer
        self.enqueue_req(conn)

    def _drop(self, conn: Any, reply: bytes = b"") -> None:
        self.poller.unregister(conn.sock)
        self.reading.pop(conn, None)
        if reply:
            with contextlib.suppress(OSError):
                conn.sock.send(reply)
        self.nr_conns -= 1
        conn.close(graceful=bool(reply))  # lingers (off this thread) so unread bytes cannot reset the reply

    def murder_pending(self) -> None:
        """Also close connections whose head (and small body) did not arrive in time: 408."""
        super().murder_pending()
        now = time.monotonic()
        for conn in [conn for conn, deadline in self.reading.items() if deadline <= now]:
            self._drop(conn, _TIMEOUT_REPLY)

    # --- handing over to a thread ----------------------------------------------------------------

    def enqueue_req(self, conn: Any) -> None:
        pool = self.transfers if conn.transfer and self.transfers else self.tpool
        future = pool.submit(self.handle, conn)
        future.add_done_callback(lambda done: self.method_queue.defer(self.finish_request, conn, done))

    def handle(self, conn: Any) -> Any:
        conn.sock.setblocking(True)
        conn.init()
        head, conn.head = conn.head, b""
        if head:
            conn.parser.unreader.unread(head)
        return super().handle(conn)

    def handle_request(self, req: Any, conn: Any) -> bool:
        """Serve one request; a connection whose client stalled mid-body is not kept alive."""
        _reads.timed_out = False
        keepalive = bool(super().handle_request(req, conn))
        return keepalive and not _reads.timed_out

    def run(self) -> None:
        try:
            super().run()
        finally:
            if self.transfers is not None:
                self.transfers.shutdown(wait=False)
