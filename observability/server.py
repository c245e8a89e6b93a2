"""``WHARF_METRICS=bind``: a listener of its own on ``WHARF_METRICS_LISTEN`` (host:port), in gunicorn's
master, answering the same text as ``/metrics``. Import it only once Django is set up."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.db import connections
from prometheus_client import CONTENT_TYPE_LATEST

from .exposition import scrape


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        try:
            body, status = scrape(), 200
        finally:
            connections.close_all()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE_LATEST)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def serve(listen: str) -> ThreadingHTTPServer:
    host, _, port = listen.rpartition(":")
    server = ThreadingHTTPServer((host or "127.0.0.1", int(port)), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="wharf-metrics", daemon=True).start()
    return server
