"""End-to-end fixtures: a real gunicorn serving Wharf on the test database, a real Docker engine, skopeo.

The server runs as a subprocess (its own session, so it can be killed with all its workers) on a free
127.0.0.1 port, with its data directory under the test's tmp_path and ``DATABASE_URL`` pointing at
pytest-django's test database, so a test can push with a real client and then assert on rows with the
ORM and on files in the blob store.

CI sets ``WHARF_REQUIRE_E2E=1``: then a missing dockerd or skopeo fails the run instead of skipping.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection

from packages_app import storage

ROOT = Path(__file__).resolve().parents[2]
DOCKER = "/usr/bin/docker"  # the engine's own 20.10 client (a client-only 28.x may come first in PATH)
DOCKERD = "/usr/sbin/dockerd"
SKOPEO = "/usr/bin/skopeo"


# --- skips become failures when CI asks for e2e ---------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """With WHARF_REQUIRE_E2E=1, an e2e test that skips (no dockerd, no skopeo, not root) fails."""
    report = yield
    required = os.environ.get("WHARF_REQUIRE_E2E") == "1"
    if required and report.skipped and item.get_closest_marker("e2e") and not hasattr(report, "wasxfail"):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        report.outcome = "failed"
        report.longrepr = f"WHARF_REQUIRE_E2E=1 but this end-to-end test was skipped: {reason}"
    return report


# --- the server -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_database_url() -> str:
    """A DATABASE_URL for the database pytest-django created (its name is the test one by now)."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        name = str(db["NAME"])
        assert name, "e2e needs a file test database"
        assert ":memory:" not in name, "e2e needs a file test database"
        assert "mode=memory" not in name, "e2e needs a file test database"
        return f"sqlite:///{name}"
    if db["ENGINE"] == "django.db.backends.postgresql":
        user = quote(str(db.get("USER") or ""), safe="")
        password = quote(str(db.get("PASSWORD") or ""), safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        port = f":{db['PORT']}" if db.get("PORT") else ""
        return f"postgres://{auth}{db.get('HOST') or 'localhost'}{port}/{quote(str(db['NAME']), safe='')}"
    raise NotImplementedError(f"no DATABASE_URL for {db['ENGINE']}")


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


class LoopbackServer:
    """Something tests talk HTTP to on a loopback ``port``: one request per connection."""

    port: int

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> Response:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            answer = conn.getresponse()
            return Response(answer.status, answer.headers, answer.read())
        finally:
            conn.close()


@dataclass
class WharfServer(LoopbackServer):
    """One gunicorn (master + workers, one process group) serving ``data_dir`` on ``port``."""

    data_dir: Path
    database_url: str
    port: int = field(default_factory=free_port)
    anonymous_push: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)  # more WHARF_* settings for the server
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    allowed_5xx: set[int] = field(default_factory=set)  # statuses a test provokes on purpose (507: disk full)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def log(self) -> Path:
        return self.data_dir / "gunicorn.log"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WHARF_", "DATABASE_URL", "DJANGO_"))}
        wharf = {
            "WHARF_LISTEN": self.host,
            "WHARF_WORKERS": "2",
            "WHARF_ANONYMOUS_PUSH": "true" if self.anonymous_push else "false",
            "WHARF_DATA_DIR": str(self.data_dir),
            "WHARF_ACCESS_LOG": "1",
            # Pull counts are written in batches (packages_app.pull_counts): every second here, so a
            # page shows a pull soon after it.
            "WHARF_PULL_COUNT_FLUSH_SECONDS": "1",
            "DATABASE_URL": self.database_url,
            "DJANGO_SETTINGS_MODULE": "registry_site.settings",
            # The test process makes tokens (HMACs under SECRET_KEY) the server must accept: one installation.
            "WHARF_SECRET_KEY": django_settings.SECRET_KEY,
        }
        return env | wharf | self.extra_env

    def start(self, timeout: float = 30) -> None:
        assert self.process is None, "already running"
        self.starts += 1
        with open(self.log, "ab") as log:
            log.write(f"--- start {self.starts} ---\n".encode())
            self.process = subprocess.Popen(
                [
                    str(ROOT / ".venv/bin/gunicorn"),
                    "-c",
                    "registry_site/gunicorn.conf.py",
                    # gunicorn 27 otherwise shares one control socket (~/.gunicorn/gunicorn.ctl) between servers
                    "--no-control-socket",
                    "registry_site.wsgi",
                ],
                cwd=ROOT,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill() reaches the workers too
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if self.request("GET", "/v2/", timeout=2).status in {200, 401} and self._workers_booted():
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer GET /v2/ within {timeout}s:\n{self.log_tail()}")

    def _workers_booted(self) -> bool:
        """Every worker of this start has logged its boot. The first one can answer while another is
        still booting (the application is preloaded, so forks come fast), and a boot line logged during
        a test is read as a worker that died and came back."""
        since_start = self.log.read_text(errors="replace").rsplit(f"--- start {self.starts} ---", 1)[-1]
        return since_start.count("Booting worker with pid") >= int(self.env()["WHARF_WORKERS"])

    def kill(self) -> None:
        """SIGKILL the master and every worker at once, as a power cut would."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGQUIT)  # gunicorn's quick shutdown: the master stops its workers
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # a worker that outlived its master
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def server_errors(self) -> list[str]:
        """Access-log lines of requests answered with a 5xx the test did not ask for."""
        if not self.log.exists():
            return []
        lines = self.log.read_text(errors="replace").splitlines()
        return [
            line
            for line in lines
            if (found := _ACCESS_STATUS.search(line)) and int(found.group(1)) not in self.allowed_5xx
        ]

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


# gunicorn's access log: ... "METHOD /path HTTP/1.1" STATUS SIZE ...
_ACCESS_STATUS = re.compile(r'"[A-Z]+ \S+ HTTP/[0-9.]+" (5[0-9][0-9]) ')


@contextlib.contextmanager
def serving(settings: Any, tmp_path: Path, *, anonymous_push: bool, extra_env: dict[str, str]) -> Iterator[WharfServer]:
    """Start a server on the test database; the test process's blob store points at the server's."""
    server = WharfServer(
        data_dir=tmp_path / "server",
        database_url=server_database_url(),
        anonymous_push=anonymous_push,
        extra_env=extra_env,
    )
    server.data_dir.mkdir(exist_ok=True)
    settings.STORAGES = {
        **settings.STORAGES,
        "blobs": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(server.blob_dir)},
        },
    }
    settings.WHARF_ANONYMOUS_PUSH = anonymous_push
    storage.blob_store.cache_clear()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        storage.blob_store.cache_clear()
    # Zero 500s: a request the server answered with a 5xx fails the test that made it.
    errors = server.server_errors()
    assert not errors, "the server answered with 5xx:\n" + "\n".join(errors[:20]) + "\n" + server.log_tail()


@pytest.fixture
def wharf_server(transactional_db: None, settings: Any, tmp_path: Path) -> Iterator[WharfServer]:
    """A running Wharf (gunicorn, 2 workers, anonymous pushes) on the test database.

    ``transactional_db``: the server's processes must see what the test writes, and vice versa.
    The test process's blob store points at the server's, so tests can look at the files.
    """
    with serving(settings, tmp_path, anonymous_push=True, extra_env={}) as server:
        yield server


@pytest.fixture
def wharf_server_closed(
    request: pytest.FixtureRequest, transactional_db: None, settings: Any, tmp_path: Path
) -> Iterator[WharfServer]:
    """A running Wharf as production runs it: no anonymous pushes, clients log in with personal access tokens.

    Users and tokens the test creates are committed (``transactional_db``), so the server sees them.
    An indirect parameter adds server settings, e.g.
    ``@pytest.mark.parametrize("wharf_server_closed", [{"WHARF_REGISTRY_TOKEN_SECONDS": "3"}], indirect=True)``.
    """
    extra_env: dict[str, str] = getattr(request, "param", {})
    with serving(settings, tmp_path, anonymous_push=False, extra_env=extra_env) as server:
        yield server


# --- the Docker engine ----------------------------------------------------------------------------


@dataclass
class DockerEngine:
    root: Path

    @property
    def env(self) -> dict[str, str]:
        return os.environ | {
            "DOCKER_HOST": f"unix://{self.root}/docker.sock",
            "DOCKER_CONFIG": str(self.root / "cli"),
            "DOCKER_BUILDKIT": "0",
        }

    def run(self, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> str:
        """Run the engine's client; fail the test with its output if it fails."""
        done = subprocess.run(
            [DOCKER, *args], env=self.env | (env or {}), capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, f"docker {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        return done.stdout


def _kill_pidfile(path: Path, sig: int = signal.SIGTERM) -> int | None:
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, sig)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    return pid


def _wait_gone(pid: int | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while pid is not None and time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return pid is None


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[DockerEngine]:
    """A private dockerd (vfs storage, no networking) per TOOLS.md, stopped at the end of the session."""
    if not os.path.exists(DOCKERD) or not os.path.exists(DOCKER):
        pytest.skip(f"{DOCKERD} or {DOCKER} is missing (apt-get install -y docker.io)")
    if os.geteuid() != 0:
        pytest.skip("starting dockerd needs root")
    root = Path(tempfile.mkdtemp(prefix="wd-", dir="/tmp"))  # short: the unix socket path must be < 108 chars
    (root / "cli").mkdir()
    engine = DockerEngine(root)
    with open(root / "dockerd.log", "ab") as log:
        dockerd = subprocess.Popen(
            [
                DOCKERD,
                "--storage-driver=vfs",
                "--iptables=false",
                "--ip6tables=false",
                "--bridge=none",
                f"--data-root={root}/data",
                f"--exec-root={root}/exec",
                f"--pidfile={root}/dockerd.pid",
                # one layer upload at a time: then the requests of one upload (POST, PATCH, PUT) follow each
                # other with nothing between, and a round-robin balancer must send each to another node
                # (tests/e2e/test_topology.py reads that from the nodes' access logs)
                "--max-concurrent-uploads=1",
                "-H",
                engine.env["DOCKER_HOST"],
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            ready = subprocess.run([DOCKER, "version"], env=engine.env, capture_output=True, timeout=30)
            if ready.returncode == 0:
                break
            if dockerd.poll() is not None or time.monotonic() > deadline:
                log_text = (root / "dockerd.log").read_text(errors="replace")[-4000:]
                pytest.fail(f"dockerd did not start:\n{log_text}")
            time.sleep(0.2)
        yield engine
    finally:
        _stop_docker(dockerd, root)


def _stop_docker(dockerd: subprocess.Popen[bytes], root: Path) -> None:
    dockerd.terminate()
    try:
        dockerd.wait(timeout=20)
    except subprocess.TimeoutExpired:
        dockerd.kill()
        dockerd.wait()
    # dockerd stops the containerd it started; one left behind (dockerd killed) is stopped here.
    containerd = _kill_pidfile(root / "exec/containerd/containerd.pid")
    if not _wait_gone(containerd, 10) and containerd is not None:
        os.kill(containerd, signal.SIGKILL)
    subprocess.run(["umount", str(root / "data")], capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


# --- skopeo ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def skopeo() -> str:
    if not os.path.exists(SKOPEO):
        pytest.skip(f"{SKOPEO} is missing (apt-get install -y skopeo)")
    return SKOPEO


# --- a real browser (shared/TOOLS.md "A real browser") ---------------------------------------------

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright launches Debian's Chromium (``playwright install`` cannot download here), headless."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True, "args": args}


@pytest.fixture
def wharf_site(wharf_server_closed: WharfServer) -> WharfServer:
    """The closed server with its static files collected (whitenoise serves STATIC_ROOT, read at start)."""
    done = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=wharf_server_closed.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    wharf_server_closed.restart()
    return wharf_server_closed
