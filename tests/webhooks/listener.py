"""A real HTTP server on loopback that records what webhooks send it and counts every connection."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Listener:
    port: int
    requests: list[Received] = field(default_factory=list)
    connections: int = 0
    # Statuses to answer, in order (then 200); a Location header goes with 3xx answers.
    statuses: list[int] = field(default_factory=list)
    location: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def events(self, name: str) -> list[Received]:
        return [r for r in self.requests if r.headers.get("x-wharf-event") == name]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    listener: Listener

    def get_request(self) -> tuple[socket.socket, Any]:
        got = super().get_request()
        self.listener.connections += 1
        return got


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        listener = self.server.listener
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = {k.lower(): v for k, v in self.headers.items()}
        listener.requests.append(Received(self.path, headers, body))
        status = listener.statuses.pop(0) if listener.statuses else 200
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", listener.location)
        answer = b"thanks" if status < 300 else b"not today"
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def listening() -> Iterator[Listener]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.listener = Listener(port=server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.listener
    finally:
        server.shutdown()
        server.server_close()
