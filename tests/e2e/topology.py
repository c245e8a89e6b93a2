"""A multi-node Wharf the tests start (issue 14): identical gunicorn nodes on loopback ports behind
HAProxy (round-robin per request, no stickiness), one PostgreSQL (the test database), Redis (the Celery
broker), Celery workers and an S3 object store (OpenStack Swift's S3 API, or moto).

Each node has a data directory of its own, so nothing a node keeps on its disk can be shared: upload
sessions, leases and hash states are rows in PostgreSQL, blob bytes are objects in the store, signing
keys come from the one ``WHARF_SECRET_KEY`` every node is given, sessions are database sessions.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.e2e.conftest import LoopbackServer, WharfServer, free_port, server_database_url
from tests.e2e.workers import CeleryProcess, start_worker, stop_worker, wait_ready

PART_SIZE = 5 * 1024 * 1024
ACCESS_LINE = re.compile(
    r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/1\.[01]" (?P<status>\d{3})(?: "(?P<location>[^"]*)" "(?P<range>[^"]*)")?'
)
# The nodes' access log adds the response's Location and Range, so an upload's POST (whose path names
# no session) can be tied to the session it opened, and its PATCHes ordered by the offset they reached.
ACCESS_FORMAT = '%(t)s "%(r)s" %(s)s "%({location}o)s" "%({range}o)s"'
UPLOAD_SESSION = re.compile(r"/blobs/uploads/(?P<session>[0-9a-zA-Z-]{8,})")

_HAPROXY = """global
    maxconn 512

defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    # a health check on a loaded machine may take a second; a node marked down by a slow check would
    # break round-robin (and the tests that read it); a killed node refuses at once and is down in 1 s
    timeout check 3s
    # each request is balanced on its own: no stickiness, no reuse of a server connection
    option http-server-close
    retries 3
    retry-on conn-failure empty-response
    option redispatch 1

frontend registry
    bind 127.0.0.1:{port}
    default_backend nodes

backend nodes
    balance roundrobin
    option httpchk GET /v2/
    http-check expect status 200,401
{servers}
"""


@dataclass
class LoadBalancer(LoopbackServer):
    """HAProxy in front of the nodes; looks like a ``WharfServer`` to the clients (``host``, ``request``)."""

    directory: Path
    nodes: list[WharfServer]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.directory / "haproxy.log"

    def start(self, timeout: float = 20) -> None:
        servers = "\n".join(
            f"    server node{n} 127.0.0.1:{node.port} check inter 500 fall 2 rise 2"
            for n, node in enumerate(self.nodes, 1)
        )
        config = self.directory / "haproxy.cfg"
        config.write_text(_HAPROXY.format(port=self.port, servers=servers))
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                ["haproxy", "-f", str(config), "-db"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if self.request("GET", "/v2/", timeout=2).status in {200, 401}:
                    return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"HAProxy did not answer:\n{self.log.read_text(errors='replace')}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def access_lines(node: WharfServer) -> list[tuple[str, str, int]]:
    """(method, path with query, status) of every request the node's access log holds."""
    lines = []
    for match in ACCESS_LINE.finditer(node.log.read_text(errors="replace")):
        lines.append((match["method"], match["path"], int(match["status"])))
    return lines


def upload_hops(nodes: list[WharfServer]) -> dict[str, list[int]]:
    """Each upload session's requests (the POST that opened it, its PATCHes, the PUT that closed it) and
    the number of the node that served each, in order: from the nodes' own access logs. The requests of
    one session never overlap (a client sends the next only after the answer), so POST, then PATCHes in
    the order of the offset each reached (its answer's Range), then PUT is the session's order."""
    steps: dict[str, list[tuple[int, int, int]]] = {}  # session: (phase, offset reached, node)
    for number, node in enumerate(nodes):
        for match in ACCESS_LINE.finditer(node.log.read_text(errors="replace")):
            method, status = match["method"], int(match["status"])
            offset = re.fullmatch(r"\d+-(\d+)", match["range"] or "")  # gunicorn logs "-" where there is none
            reached = int(offset[1]) if offset else 0
            where = match["path"] if method in {"PATCH", "PUT"} else (match["location"] or "")
            found = UPLOAD_SESSION.search(where)
            if found is None or method not in {"POST", "PATCH", "PUT"} or status >= 400:
                continue
            phase = {"POST": 0, "PATCH": 1, "PUT": 2}[method]
            steps.setdefault(found["session"], []).append((phase, reached, number))
    return {session: [node for _, _, node in sorted(seen)] for session, seen in steps.items()}


def connected(node: WharfServer) -> bool:
    """Whether the node holds an open connection (the balancer's: a request in flight)."""
    return _has_established(node.port)


def serving_node(lb: LoadBalancer) -> WharfServer:
    """The node holding the load balancer's one open connection to a node (a request in flight)."""
    for node in lb.nodes:
        if connected(node):
            return node
    raise AssertionError("no node has a request in flight")


def _has_established(port: int) -> bool:
    """An ESTABLISHED TCP connection whose local port is ``port`` (Linux /proc/net/tcp)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as rows:
            for row in list(rows)[1:]:
                local, state = row.split()[1], row.split()[3]
                if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:
                    return True
    return False


@dataclass
class Topology:
    lb: LoadBalancer
    nodes: list[WharfServer]
    workers: list[CeleryProcess]
    queue: str
    env: dict[str, str]


@contextlib.contextmanager
def topology(directory: Path, s3: dict[str, str], broker: str, queue: str, *, nodes: int = 2, workers: int = 2,
             extra_env: dict[str, str] | None = None, worker_env: dict[str, str] | None = None,
             ) -> Iterator[Topology]:  # fmt: skip
    """Start ``nodes`` gunicorn nodes, HAProxy and ``workers`` Celery workers; stop them all afterwards."""
    shared = {
        "WHARF_STORAGE": "s3",
        "WHARF_S3_PART_SIZE": str(PART_SIZE),
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": broker,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "GUNICORN_CMD_ARGS": f"--access-logformat '{ACCESS_FORMAT}'",
        **s3,
        **(extra_env or {}),
    }
    started: list[Any] = []
    servers = [
        WharfServer(data_dir=directory / f"node{n}", database_url=server_database_url(), extra_env=dict(shared))
        for n in range(1, nodes + 1)
    ]
    try:
        for server in servers:
            server.data_dir.mkdir()
            server.start(timeout=90)
            started.append(server)
        lb = LoadBalancer(directory, servers)
        lb.start()
        started.append(lb)
        env = servers[0].env() | (worker_env or {})
        logs = [directory / f"worker{n}.log" for n in range(1, workers + 1)]
        running = [start_worker(log, env, queue, f"{queue}-{n}") for n, log in enumerate(logs, 1)]
        started.extend(running)
        for worker in running:
            wait_ready(worker)
        yield Topology(lb, servers, running, queue, env)
    finally:
        for part in reversed(started):
            stop_worker(part) if isinstance(part, CeleryProcess) else part.stop()
