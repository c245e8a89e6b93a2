"""What a production-like Wharf (gunicorn with its access log) writes while clients do ordinary things:
one line per request, nothing more for an expected 401 challenge or 403 refusal (no "Unauthorized:
/v2/" warning, no traceback), and no warning for docker's TLS probe of a plain-HTTP port. And Ctrl-C
on ``make run`` stops the server and its worker in seconds, without a SIGKILL."""

from __future__ import annotations

import os
import re
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.conftest import basic, make_pat
from tests.e2e.conftest import ROOT, WharfServer, free_port, server_database_url

pytestmark = pytest.mark.e2e

ACCESS_LINE = re.compile(r'^127\.0\.0\.1 - \S+ \[[^]]+\] "(GET|HEAD|POST|PUT|PATCH|DELETE) \S+ HTTP/1\.1" \d{3} ')


def _new_lines(server: WharfServer, offset: int) -> list[str]:
    time.sleep(0.5)  # the access log is written after the response
    return server.log.read_bytes()[offset:].decode(errors="replace").splitlines()


def _tls_probe(server: WharfServer) -> None:
    """What docker sends first to a registry it treats as insecure: a TLS ClientHello."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw, pytest.raises(ssl.SSLError):
        context.wrap_socket(raw, server_hostname="127.0.0.1")


def test_expected_refusals_and_tls_probes_log_one_access_line_each(
    wharf_server_closed: WharfServer, owner: Any, member: Any
) -> None:
    server = wharf_server_closed
    token = make_pat(owner, "read:packages", "write:packages")
    session = Client()
    session.force_login(member)
    offset = server.log.stat().st_size
    alice = {"Authorization": basic("alice", token)}
    bob = {"Cookie": f"sessionid={session.cookies['sessionid'].value}"}  # a member, not an owner
    statuses = [
        server.request("GET", "/v2/").status,
        server.request("GET", "/v2/", headers={"Authorization": basic("alice", "wrong")}).status,
        server.request("GET", "/v2/acme/ghost/tags/list").status,
        server.request("POST", "/v2/nosuchorg/app/blobs/uploads/", headers=alice).status,
        server.request("GET", "/orgs/acme/audit", headers=bob).status,
    ]
    assert statuses == [401, 401, 401, 403, 403]
    for _ in range(3):
        _tls_probe(server)
    lines = _new_lines(server, offset)
    assert [line for line in lines if not ACCESS_LINE.match(line)] == []
    assert len(lines) == len(statuses)


def test_malformed_http_is_still_a_warning(wharf_server: WharfServer) -> None:
    """Only bytes that are not HTTP at all are quieted: a broken header line is still worth a warning."""
    offset = wharf_server.log.stat().st_size
    with socket.create_connection(("127.0.0.1", wharf_server.port), timeout=5) as sock:
        sock.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")  # malformed: gunicorn's warning stays
        sock.recv(4096)
    assert any("Invalid request from ip=127.0.0.1" in line for line in _new_lines(wharf_server, offset))


def _hold_connections(port: int) -> list[socket.socket]:
    """Kept-alive connections and a half-sent request: what a browser or docker leaves open."""
    held = []
    for _ in range(3):
        conn = socket.create_connection(("127.0.0.1", port), timeout=5)
        conn.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
        conn.recv(65536)
        held.append(conn)
    half = socket.create_connection(("127.0.0.1", port), timeout=5)
    half.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n")
    return [*held, half]


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as probe:
                probe.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if probe.recv(64).startswith(b"HTTP/1.1 401"):
                    return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"make run did not listen:\n{log.read_text(errors='replace')[-3000:]}")


def test_ctrl_c_on_make_run_stops_quickly_and_cleanly(transactional_db: None, tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WHARF_", "DJANGO_", "CELERY_"))}
    env |= {"WHARF_LISTEN": f"127.0.0.1:{port}", "WHARF_DATA_DIR": str(tmp_path), "DATABASE_URL": server_database_url()}
    log = tmp_path / "make-run.log"
    with open(log, "wb") as out:
        make = subprocess.Popen(
            # -o: never reinstall requirements from here (the suite runs on an installed virtualenv)
            ["make", "--no-print-directory", "-o", ".venv/.run-installed", "run"], cwd=ROOT, env=env,
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        _wait_listening(port, make, log)
        held = _hold_connections(port)
        while "ready." not in log.read_text(errors="replace"):  # the worker is up too
            assert make.poll() is None
            time.sleep(0.3)
        started = time.monotonic()
        os.killpg(make.pid, signal.SIGINT)  # what the terminal sends to the whole foreground group on Ctrl-C
        make.wait(timeout=20)
        took = time.monotonic() - started
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
        for conn in locals().get("held", []):
            conn.close()
    output = log.read_text(errors="replace")
    assert took < 10, output[-3000:]
    assert "SIGKILL" not in output
    assert "Traceback" not in output
    assert "SecurityWarning" not in output
    assert "superuser privileges: this" not in output
    assert "WARNING" not in output, output  # e.g. kombu's "No hostname was supplied"
    left = ["ps", "-o", "pid,stat,cmd", "-g", str(make.pid)]
    assert _group_gone(make.pid, timeout=10 - took), subprocess.run(left, capture_output=True, text=True).stdout


def _group_gone(pgid: int, timeout: float) -> bool:
    """Nothing of the group is left: gunicorn, its workers, Celery and its beat."""
    deadline = time.monotonic() + max(timeout, 0)
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
