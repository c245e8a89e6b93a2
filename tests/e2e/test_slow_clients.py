"""Slow and idle clients cannot starve the registry (registry_site/worker.py), against a real gunicorn.

200 connections send their request a byte at a time, one byte per connection every 1.5 s -- heads of
GET /v2/, bodies of small manifest PUTs and of large blob PATCHes --, beside 500 idle kept-alive
connections. Meanwhile a normal client's GET /v2/ and manifest GET must answer with p99 under 1 s; the
slow senders are cut off (header timeout 2 s, read timeout 1 s here) and none of them committed anything.
"""

from __future__ import annotations

import http.client
import json
import selectors
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from packages_app.models import Manifest, Upload
from tests.e2e.conftest import WharfServer, serving
from tests.oci import make_image

pytestmark = pytest.mark.e2e

IMAGE = make_image(seed="slow-clients")
SLOW_HEADS, SLOW_SMALL_BODIES, SLOW_PATCHES, IDLE = 100, 50, 50, 500
BYTE_EVERY = 1.5  # seconds between two bytes of one slow sender
WATCH = 4.0  # seconds the normal client measures while the slow senders trickle


@pytest.fixture
def server(transactional_db: None, settings: Any, tmp_path: Path) -> Iterator[WharfServer]:
    timeouts = {"WHARF_HEADER_TIMEOUT": "2", "WHARF_READ_TIMEOUT": "1"}
    with serving(settings, tmp_path, anonymous_push=True, extra_env=timeouts) as running:
        yield running


def push(server: WharfServer) -> None:
    for digest, data in IMAGE.blobs.items():
        assert server.request("POST", f"/v2/slow/app/blobs/uploads/?digest={digest}", data).status == 201
    headers = {"Content-Type": IMAGE.media_type}
    assert server.request("PUT", "/v2/slow/app/manifests/v1", IMAGE.manifest, headers).status == 201


def idle_connections(server: WharfServer, count: int) -> list[socket.socket]:
    """Connections that made one request each and stay open (kept alive) without a second one."""
    idle = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.endswith(b"{}"):
            reply += sock.recv(4096)
        assert reply.startswith(b"HTTP/1.1 200"), reply
        idle.append(sock)
    return idle


def slow_requests(server: WharfServer) -> list[bytes]:
    """What each slow sender would send, if it were ever allowed to finish."""
    heads = [b"GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"p" * 40 + b"\r\n\r\n"] * SLOW_HEADS
    manifest = IMAGE.manifest
    put = (
        f"PUT /v2/slow/app/manifests/never HTTP/1.1\r\nHost: x\r\nContent-Type: {IMAGE.media_type}\r\n"
        f"Content-Length: {len(manifest)}\r\n\r\n"
    ).encode()
    small = [put + manifest] * SLOW_SMALL_BODIES
    patches = []
    for _ in range(SLOW_PATCHES):
        location = server.request("POST", "/v2/slow/app/blobs/uploads/").headers["Location"]
        head = f"PATCH {location} HTTP/1.1\r\nHost: x\r\nContent-Length: {1 << 20}\r\n\r\n".encode()
        patches.append(head)  # the head at once: only the body trickles
    return heads + small + patches


class Trickler(threading.Thread):
    """Sends one byte per connection every BYTE_EVERY seconds; records when each one was cut off."""

    def __init__(self, server: WharfServer, requests: list[bytes]) -> None:
        super().__init__(daemon=True)
        self.started = time.monotonic()
        self.sockets: list[tuple[socket.socket, bytes, int]] = []
        for request in requests:
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            at = request.index(b"\r\n\r\n") + 4 if request.startswith(b"PATCH") else 0
            sock.sendall(request[:at])
            self.sockets.append((sock, request, at))
        self.cut: dict[int, float] = {}
        self.replies: dict[int, bytes] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        positions = [at for _, _, at in self.sockets]
        while not self.stop.wait(BYTE_EVERY):
            for index, (sock, request, _) in enumerate(self.sockets):
                if index in self.cut or positions[index] >= len(request):
                    continue
                try:
                    sock.send(request[positions[index] : positions[index] + 1])
                    positions[index] += 1
                except OSError:
                    self.cut[index] = time.monotonic() - self.started
            self._collect()

    def _collect(self) -> None:
        with selectors.DefaultSelector() as selector:
            for index, (sock, _, _) in enumerate(self.sockets):
                if index not in self.cut:
                    selector.register(sock, selectors.EVENT_READ, index)
            if not selector.get_map():
                return
            for key, _ in selector.select(timeout=0):
                index = key.data
                try:
                    data = key.fileobj.recv(4096)  # type: ignore[union-attr]
                except OSError:
                    data = b""
                self.replies[index] = self.replies.get(index, b"") + data
                if not data:
                    self.cut[index] = time.monotonic() - self.started


def normal_client(server: WharfServer, seconds: float) -> list[float]:
    """GET /v2/ and the manifest, alternately, on one kept-alive connection, for ``seconds``."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    paths = ["/v2/", "/v2/slow/app/manifests/v1"]
    while time.monotonic() < deadline:
        path = paths[len(latencies) % 2]
        started = time.perf_counter()
        conn.request("GET", path, headers={"Accept": IMAGE.media_type})
        answer = conn.getresponse()
        body = answer.read()
        latencies.append(time.perf_counter() - started)
        assert answer.status == 200, (path, answer.status, body[:200])
        if path != "/v2/":
            assert body == IMAGE.manifest
    conn.close()
    return latencies


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def test_slow_and_idle_clients_do_not_starve_a_normal_one(server: WharfServer) -> None:
    push(server)
    idle = idle_connections(server, IDLE)
    trickler = Trickler(server, slow_requests(server))
    trickler.start()
    try:
        latencies = normal_client(server, WATCH)
        # Every slow sender is cut off: heads after the header timeout, stalled PATCHes after the read
        # timeout, a transfer pool's worth at a time (8 threads x 2 workers: 50 take about 4 s).
        deadline = trickler.started + 12
        while len(trickler.cut) < len(trickler.sockets) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        trickler.stop.set()
        trickler.join()
    assert len(latencies) > 20
    assert p99(latencies) < 1.0, f"p99 {p99(latencies):.2f} s over {len(latencies)} requests"
    cut = trickler.cut
    left = sorted(set(range(len(trickler.sockets))) - set(cut))
    assert not left, f"{len(left)} slow senders still connected: {left}"
    heads = [trickler.replies.get(i, b"") for i in range(SLOW_HEADS + SLOW_SMALL_BODIES)]
    assert all(reply.startswith(b"HTTP/1.1 408") for reply in heads), {r[:40] for r in heads}
    assert not Manifest.objects.filter(tags__name="never").exists()
    assert set(Upload.objects.values_list("offset", flat=True)) == {0}
    for sock in idle:
        sock.close()


def test_a_stalled_upload_is_answered_and_closed_without_committing(server: WharfServer) -> None:
    location = server.request("POST", "/v2/slow/app/blobs/uploads/").headers["Location"]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        head = f"PATCH {location} HTTP/1.1\r\nHost: x\r\nContent-Length: {1 << 20}\r\n\r\n"
        sock.sendall(head.encode() + b"x" * 1000)
        started, reply = time.monotonic(), b""
        while data := sock.recv(4096):
            reply += data
        waited = time.monotonic() - started
    assert reply.startswith(b"HTTP/1.1 400"), reply[:200]
    body = json.loads(reply.split(b"\r\n\r\n", 1)[1])
    assert body["errors"][0]["code"] == "BLOB_UPLOAD_INVALID"
    assert 0.9 <= waited < 5  # the read timeout (1 s), then the connection is closed
    status = server.request("GET", location)
    assert status.status == 204
    assert status.headers["Range"] == "0-0"


def test_a_client_trying_tls_first_is_refused_at_once(server: WharfServer) -> None:
    """docker tries https before http on a loopback registry: the refusal must not wait for a timeout."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(bytes.fromhex("16030100a5010000a10303") + b"\x00" * 32)  # the start of a ClientHello
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 400 "), reply[:100]  # what tells docker to fall back to http
    assert time.monotonic() - started < 1
