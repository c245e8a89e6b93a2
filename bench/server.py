"""The server under test: Wharf as in production (gunicorn, or granian with ``--server``) on a fresh
PostgreSQL database, a temporary data directory and a free loopback port."""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from client import call
from psycopg import sql
from sampler import children

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def recreate_database(admin_url: str, name: str, *, create: bool = True) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if create:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


class Server:
    """gunicorn serving Wharf on a fresh PostgreSQL database and a temporary data directory."""

    def __init__(self, args: argparse.Namespace, data_dir: Path) -> None:
        self.args, self.data_dir = args, data_dir
        self.port = free_port()
        self.log_path = data_dir / "gunicorn.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None
        self.env = {
            **os.environ,
            "DATABASE_URL": f"{args.pg_url.rstrip('/')}/{args.db_name}",
            "WHARF_DATA_DIR": str(data_dir),
            "WHARF_ANONYMOUS_PUSH": "true",
            "WHARF_LISTEN": f"127.0.0.1:{self.port}",
            "WHARF_WORKERS": str(args.workers),
            "WHARF_THREADS": str(args.threads),
            "WHARF_ACCESS_LOG": "",
        }

    def start(self) -> None:
        recreate_database(self.args.pg_url.rstrip("/") + "/postgres", self.args.db_name)
        manage = [sys.executable, "manage.py", "migrate", "--noinput", "-v0"]
        subprocess.run(manage, cwd=self.args.tree, env=self.env, check=True)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(self.command(), cwd=self.args.tree, env=self.env, stdout=log, stderr=log)
        self._wait_ready()

    def command(self) -> list[str]:
        """gunicorn as `make run` starts it, or granian's WSGI server for comparison (``--server``)."""
        if self.args.server == "granian":
            return [
                *(sys.executable, "-m", "granian", "--interface", "wsgi", "--no-ws", "--host", "127.0.0.1"),
                *("--port", str(self.port), "--workers", str(self.args.workers)),
                *("--blocking-threads", str(self.args.threads), "registry_site.wsgi:application"),
            ]
        command = [str(VENV_BIN / "gunicorn"), "-c", "registry_site/gunicorn.conf.py"]
        return [*command, "--worker-class", self.args.worker_class, "registry_site.wsgi"]

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_path}")
            with contextlib.suppress(OSError):
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                answered = call(conn, "GET", "/v2/").status in {200, 401}  # 401: a closed registry
                ready = answered and len(self.workers()) >= self.args.workers
                conn.close()
                if ready:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout} s; see {self.log_path}")

    def workers(self) -> list[int]:
        assert self.process is not None
        return children(self.process.pid)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(psycopg.Error):
            recreate_database(self.args.pg_url.rstrip("/") + "/postgres", self.args.db_name, create=False)

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def forget_blob(self, digest: str) -> None:
        """Drop a blob's row and bytes at once (the registry's own collector waits out a grace period).

        Keys are per upload, so the row says where the bytes are; with the row gone, the next push of
        the same digest stores its bytes afresh."""
        with psycopg.connect(self.env["DATABASE_URL"], autocommit=True) as conn:
            row = conn.execute(
                "DELETE FROM packages_app_blob WHERE digest = %s RETURNING storage_key", (digest,)
            ).fetchone()
        if row:
            (self.data_dir / "blobs" / row[0]).unlink(missing_ok=True)
