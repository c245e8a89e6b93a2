"""OpenStack Swift as a one-machine "all in one" S3 server for the tests (Debian's swift-proxy,
swift-object, swift-container and swift-account packages).

One replica, one device (a directory), rings built with ``swift-ring-builder``, the three storage
servers and a proxy whose pipeline carries ``s3api`` (the S3 protocol) before ``tempauth`` (the
S3 account ``test:tester`` with secret ``testing``) and ``slo`` (which S3 multipart uploads need).
Everything lives under one directory, with ``swift_dir`` pointing there, so nothing in /etc/swift
is read or changed. Each server runs in the foreground (``workers = 0``) in its own process group.

``python -m tests.swift_aio DIR [PORT]`` starts one, puts and gets an object through S3 and stops;
``python -m tests.swift_aio DIR PORT --serve`` keeps it until SIGTERM: ``.ci/run`` starts one that way
for the whole run and passes ``WHARF_TEST_SWIFT_ENDPOINT`` to the tests; without it the ``swift_server``
fixture in ``tests/packages_app/conftest.py`` starts one per session.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

ACCESS_KEY, SECRET_KEY = "test:tester", "testing"
SERVERS = ("account", "container", "object")
BINARIES = [f"/usr/bin/swift-{kind}-server" for kind in (*SERVERS, "proxy")] + ["/usr/bin/memcached"]

_COMMON = """[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = 0
user = {user}
swift_dir = {root}
devices = {root}/devices
mount_check = false
log_facility = LOG_LOCAL7
log_level = INFO
disable_fallocate = true
"""
_STORAGE = """
[pipeline:main]
pipeline = {kind}-server

[app:{kind}-server]
use = egg:swift#{kind}
"""
# s3api before tempauth (it turns an S3 signature into a tempauth identity); slo for multipart uploads.
_PIPELINE = [
    *("catch_errors", "gatekeeper", "healthcheck", "proxy-logging", "cache", "listing_formats"),
    *("s3api", "tempauth", "copy", "slo", "dlo", "proxy-logging", "proxy-server"),
]
_PROXY = """
[pipeline:main]
pipeline = {pipeline}

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:s3api]
use = egg:swift#s3api
location = us-east-1
s3_acl = false
check_bucket_owner = false
allow_multipart_uploads = true

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:{memcached}

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
"""
_SWIFT_CONF = """[swift-hash]
swift_hash_path_suffix = wharf-tests
swift_hash_path_prefix = wharf-tests

[storage-policy:0]
name = Policy-0
default = yes
"""


# What ``swift-ring-builder X.builder create 6 1 0; add r1z1-127.0.0.1:PORT/d1 100; rebalance`` does.
_RINGS = """
import ast, os, sys
from swift.common.ring import RingBuilder
root, ports = sys.argv[1], ast.literal_eval(sys.argv[2])
for kind, port in ports.items():
    builder = RingBuilder(6, 1, 0)
    builder.add_dev({"region": 1, "zone": 1, "ip": "127.0.0.1", "port": port, "device": "d1", "weight": 100})
    builder.rebalance()
    builder.save(os.path.join(root, kind + ".builder"))
    builder.get_ring().save(os.path.join(root, kind + ".ring.gz"))
"""


def installed() -> bool:
    return all(os.access(path, os.X_OK) for path in BINARIES)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SwiftAIO:
    root: Path
    port: int = field(default_factory=_free_port)
    memcached: int = field(default_factory=_free_port)  # tempauth keeps its tokens there
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _write_configs(self) -> dict[str, Path]:
        (self.root / "devices" / "d1").mkdir(parents=True, exist_ok=True)
        (self.root / "swift.conf").write_text(_SWIFT_CONF)
        user = "root" if os.geteuid() == 0 else os.environ.get("USER", "nobody")
        ports = {kind: _free_port() for kind in SERVERS}
        configs = {}
        for kind in SERVERS:
            text = _COMMON.format(port=ports[kind], user=user, root=self.root) + _STORAGE.format(kind=kind)
            configs[kind] = self.root / f"{kind}-server.conf"
            configs[kind].write_text(text)
        self._build_rings(ports)
        configs["proxy"] = self.root / "proxy-server.conf"
        proxy = _COMMON.format(port=self.port, user=user, root=self.root) + _PROXY.format(
            memcached=self.memcached, pipeline=" ".join(_PIPELINE)
        )
        configs["proxy"].write_text(proxy)
        return configs

    def _build_rings(self, ports: dict[str, int]) -> None:
        """The three rings in one run of Debian's Python (where swift lives): one replica, one device."""
        done = subprocess.run(["/usr/bin/python3", "-c", _RINGS, str(self.root), repr(ports)], capture_output=True)
        if done.returncode:
            raise RuntimeError(f"building the rings failed: {done.stderr.decode(errors='replace')}")

    def start(self, timeout: float = 30) -> None:
        configs = self._write_configs()
        log = open(self.root / "swift.log", "ab")  # noqa: SIM115 (kept open for the processes)
        commands = [[f"swift-{kind}-server", str(conf), "--verbose"] for kind, conf in configs.items()]  # console logs
        memcached = ["memcached", "-l", "127.0.0.1", "-p", str(self.memcached), "-U", "0", "-m", "16"]
        commands.append(memcached + (["-u", "root"] if os.geteuid() == 0 else []))
        for command in commands:
            self.processes.append(subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True))
        deadline = time.monotonic() + timeout
        while not self._healthy():
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.processes):
                self.stop()
                raise RuntimeError(f"Swift did not start:\n{self.log_tail()}")
            time.sleep(0.1)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/healthcheck", timeout=1) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def log_tail(self, lines: int = 40) -> str:
        path = self.root / "swift.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()


def _smoke(root: Path, port: int | None) -> None:
    """Start Swift, create a bucket and an object through S3, read it back, stop."""
    server = SwiftAIO(root, port or _free_port())
    started = time.monotonic()
    server.start()
    try:
        client = boto3.client(
            "s3",
            endpoint_url=server.endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )
        client.create_bucket(Bucket="smoke")
        client.put_object(Bucket="smoke", Key="k", Body=b"swift")
        assert client.get_object(Bucket="smoke", Key="k")["Body"].read() == b"swift"
        print(f"Swift S3 on {server.endpoint}: ready in {time.monotonic() - started:.1f}s, put/get ok")
    finally:
        server.stop()


def _serve(root: Path, port: int) -> None:
    """Start Swift and keep it until SIGTERM (``.ci/run`` starts one for the whole test run)."""
    server = SwiftAIO(root, port)
    server.start(timeout=120)
    print(f"Swift S3 on {server.endpoint}", flush=True)

    def stop(*_: Any) -> None:
        server.stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    while all(p.poll() is None for p in server.processes):
        time.sleep(1)
    server.stop()
    sys.exit(f"a Swift server stopped:\n{server.log_tail()}")


if __name__ == "__main__":
    directory = Path(sys.argv[1])
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    if len(sys.argv) > 3 and sys.argv[3] == "--serve":
        _serve(directory, int(sys.argv[2]))
    _smoke(directory, int(sys.argv[2]) if len(sys.argv) > 2 else None)
