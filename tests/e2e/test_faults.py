"""Faults against a live gunicorn (issue 9, points 6, 18, 19, 21, 23): a 416 over the wire, a SIGKILL between
an upload's store commit and its Blob row, a full disk (a real 8 MiB tmpfs), the database ending every
connection (``pg_terminate_backend`` on the test database only), and the master killed under its workers."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import io
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction

from packages_app.models import Blob, Upload
from packages_app.storage_check import storage_check
from tests.e2e.conftest import Response, WharfServer, serving
from tests.oci import sha256

pytestmark = pytest.mark.e2e

MiB = 1 << 20
NAME = "acme/faults"
OCTETS = {"Content-Type": "application/octet-stream"}


def start_upload(server: WharfServer) -> str:
    started = server.request("POST", f"/v2/{NAME}/blobs/uploads/")
    assert started.status == 202, started
    return str(started.headers["Location"])


def push_blob(server: WharfServer, data: bytes) -> str:
    digest = sha256(data)
    pushed = server.request("POST", f"/v2/{NAME}/blobs/uploads/?digest={digest}", data, OCTETS)
    assert pushed.status == 201, pushed
    return digest


def pull_blob(server: WharfServer, digest: str) -> bytes:
    pulled = server.request("GET", f"/v2/{NAME}/blobs/{digest}")
    assert pulled.status == 200, pulled
    assert hashlib.sha256(pulled.body).hexdigest() == digest[7:]
    return pulled.body


def oci_error(response: Response) -> dict[str, Any]:
    assert int(response.headers["Content-Length"]) == len(response.body) > 0
    errors = json.loads(response.body)["errors"]
    assert len(errors) == 1
    return dict(errors[0])


# --- point 6: a 416 over the wire carries its body ------------------------------------------------------


def test_a_content_range_outside_the_spec_is_a_416_with_its_oci_body(wharf_server: WharfServer) -> None:
    location = start_upload(wharf_server)
    for header in ("bytes 0-9/10", "0-9/*"):
        answer = wharf_server.request("PATCH", location, b"0123456789", OCTETS | {"Content-Range": header})
        assert answer.status == 416, answer
        assert oci_error(answer)["code"] == "RANGE_INVALID"
        assert answer.headers["Range"] == "0-0"
    assert wharf_server.request("PATCH", location, b"0123456789", OCTETS | {"Content-Range": "0-9"}).status == 202


# --- point 18: SIGKILL between the store commit and the Blob row -------------------------------------


def send_put(server: WharfServer, path: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    sock.sendall(f"PUT {path} HTTP/1.1\r\nHost: {server.host}\r\nContent-Length: 0\r\n\r\n".encode())
    return sock


def wait_for(condition: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def server_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return bool(cursor.fetchone()[0])


def test_a_put_killed_between_the_commit_and_the_blob_row_can_be_retried(wharf_server: WharfServer) -> None:
    """The test holds the Blob row's unique digest in an open transaction, so the server's INSERT waits
    right after its store committed the bytes; the server is SIGKILLed there, as a power cut would."""
    if connection.vendor != "postgresql":  # SQLite locks the whole file: the server could not get that far
        pytest.skip("needs PostgreSQL (DATABASE_URL): a row lock the server waits on, seen in pg_stat_activity")
    data = os.urandom(3 * MiB)
    digest, location = sha256(data), start_upload(wharf_server)
    assert wharf_server.request("PATCH", location, data, OCTETS).status == 202
    upload_id = location.rsplit("/", 1)[1]
    committed = wharf_server.blob_dir / "_blobs" / upload_id[:2] / upload_id
    with transaction.atomic():
        Blob.objects.create(digest=digest, size=len(data), storage_key="held-by-the-test")
        sock = send_put(wharf_server, f"{location}?digest={digest}")
        wait_for(lambda: committed.exists(), "the store commit")
        wait_for(server_waits_on_a_lock, "the server's Blob INSERT to wait")
        wharf_server.kill()
        sock.close()
        transaction.set_rollback(True)
    wharf_server.start()

    assert not Blob.objects.filter(digest=digest).exists()
    status = wharf_server.request("GET", location)
    assert (status.status, status.headers["Range"]) == (204, f"0-{len(data) - 1}")  # it says it is complete
    retried = wharf_server.request("PUT", f"{location}?digest={digest}")  # waits for the dead lease to lapse
    assert retried.status == 201, retried
    assert retried.headers["Docker-Content-Digest"] == digest
    assert pull_blob(wharf_server, digest) == data
    assert Blob.objects.get(digest=digest).storage_key == f"_blobs/{upload_id[:2]}/{upload_id}"
    assert not Upload.objects.exists()
    assert storage_check(verify=True).consistent


# --- point 19: a full disk -----------------------------------------------------------------------------


@pytest.fixture
def small_disk_server(transactional_db: None, settings: Any, tmp_path: Path) -> Iterator[WharfServer]:
    """A server whose blob store is an 8 MiB tmpfs (its database and logs are elsewhere)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    blobs = tmp_path / "server" / "blobs"
    blobs.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(blobs)], check=True)
    try:
        with serving(settings, tmp_path, anonymous_push=True, extra_env={}) as server:
            server.allowed_5xx = {507}
            yield server
    finally:
        subprocess.run(["umount", "-l", str(blobs)], check=True)


def patch_raw(server: WharfServer, location: str, data: bytes) -> Response:
    """A PATCH whose body may be refused half-way: the answer is read whatever happened to the rest."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    head = f"PATCH {location} HTTP/1.1\r\nHost: {server.host}\r\nContent-Length: {len(data)}\r\nConnection: close\r\n"
    try:
        sock.sendall(f"{head}Content-Type: application/octet-stream\r\n\r\n".encode())
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        raw = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                raw += chunk
    finally:
        sock.close()
    status_line, _, rest = raw.partition(b"\r\n")
    fields, _, body = rest.partition(b"\r\n\r\n")
    headers = http.client.parse_headers(io.BytesIO(fields + b"\r\n\r\n"))
    return Response(int(status_line.split()[1]), headers, body)


def free_bytes(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def test_a_chunk_that_fills_the_disk_is_undone_and_said_so(small_disk_server: WharfServer) -> None:
    server = small_disk_server
    pulled = push_blob(server, os.urandom(256 * 1024))
    location = start_upload(server)
    first = os.urandom(MiB)
    assert server.request("PATCH", location, first, OCTETS).status == 202
    before = free_bytes(server.blob_dir)

    full = patch_raw(server, location, os.urandom(10 * MiB))
    assert full.status == 507, full
    error = oci_error(full)
    assert error["code"] == "UNAVAILABLE"
    assert "storage is full" in error["message"]

    upload_file = server.blob_dir / "_uploads" / location.rsplit("/", 1)[1]
    assert upload_file.stat().st_size == MiB  # back to the committed offset
    assert free_bytes(server.blob_dir) >= before - 64 * 1024  # the space came back
    status = server.request("GET", location)
    assert (status.status, status.headers["Range"]) == (204, f"0-{MiB - 1}")
    assert pull_blob(server, pulled)  # pulls keep working
    other = push_blob(server, os.urandom(512 * 1024))  # and so do other pushes
    rest = os.urandom(MiB)
    done = server.request("PUT", f"{location}?digest={sha256(first + rest)}", rest, OCTETS)
    assert done.status == 201, done
    assert pull_blob(server, sha256(first + rest)) == first + rest
    assert pull_blob(server, other)


# --- point 21: the database ends every connection -------------------------------------------------------


def terminate_server_connections() -> int:
    """End every backend on the test database but this test's own (other helpers' databases are left)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        ended = int(cursor.fetchone()[0])
        for _ in range(100):
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            if cursor.fetchone()[0] == 1:
                break
            time.sleep(0.05)
    return ended


def test_the_first_requests_after_the_database_ended_every_connection_succeed(wharf_server: WharfServer) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    wharf_server.extra_env.update({"WHARF_WORKERS": "1", "WHARF_THREADS": "2"})
    wharf_server.restart()
    digest = push_blob(wharf_server, b"layer" * 1000)
    location = start_upload(wharf_server)
    server = wharf_server
    kinds: list[tuple[str, str, bytes | None, int]] = [
        ("HEAD", f"/v2/{NAME}/blobs/{digest}", None, 200),
        ("GET", f"/v2/{NAME}/blobs/{digest}", None, 200),
        ("PATCH", location, b"0123456789", 202),  # a body to read: the check comes before it
        ("POST", f"/v2/{NAME}/blobs/uploads/", None, 202),
        ("GET", f"/v2/{NAME}/tags/list", None, 200),
        ("PUT", f"{location}?digest={sha256(b'0123456789')}", None, 201),
    ]
    for method, path, body, expected in kinds:
        assert terminate_server_connections() >= 1  # the server's idle connection(s) went
        answer = server.request(method, path, body, OCTETS if body else {})
        assert answer.status == expected, (method, path, answer)
        for _ in range(3):  # whichever thread answers next has lost its connection too
            assert server.request("GET", f"/v2/{NAME}/blobs/{digest}").status == 200


# --- point 23: workers die with their master ------------------------------------------------------------


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_workers_exit_at_once_when_their_master_is_killed(wharf_server: WharfServer) -> None:
    """A worker in the middle of an upload (here: a PATCH whose client is still sending) would otherwise
    drain it for up to gunicorn's graceful timeout (30 s) with the listening socket open."""
    assert wharf_server.process is not None
    master = wharf_server.process.pid
    workers = children_of(master)
    assert len(workers) == 2
    location = start_upload(wharf_server)
    upload_file = wharf_server.blob_dir / "_uploads" / location.rsplit("/", 1)[1]
    sock = socket.create_connection(("127.0.0.1", wharf_server.port), timeout=30)
    sock.sendall(
        f"PATCH {location} HTTP/1.1\r\nHost: {wharf_server.host}\r\nContent-Length: {64 * MiB}\r\n\r\n".encode()
    )
    sock.sendall(os.urandom(2 * MiB))
    wait_for(lambda: upload_file.exists() and upload_file.stat().st_size >= MiB, "the PATCH to be half-way")
    os.kill(master, signal.SIGKILL)
    wharf_server.process.wait()
    wharf_server.process = None
    started = time.monotonic()
    try:
        wait_for(lambda: not any(alive(pid) for pid in workers), "the workers to exit", timeout=5)
        wait_for(lambda: port_is_free(wharf_server.port), "the listening socket to be free", timeout=5)
        assert time.monotonic() - started < 5
        wharf_server.start()  # a restart on the same port works at once
        assert wharf_server.request("GET", "/v2/").status == 200
    finally:
        sock.close()
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
