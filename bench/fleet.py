"""The fleet workload, run against Wharf and the reference registry side by side (``bench/run.py
--only fleet``, part of the default run).

The reference is Debian's ``docker-registry`` (distribution 2.8, Go): when ``/usr/bin/docker-registry``
is installed, it is started on a free loopback port with filesystem storage in a temporary directory
(this script installs nothing). Every step runs against both in the same run and prints the ratio
Wharf / reference, with each server's CPU per request or per image: for Wharf its gunicorn processes
plus the PostgreSQL backends of its database, for the reference its one process.

Wharf runs as in production: closed (no anonymous pushes), clients authenticate as docker does, with a
registry bearer token per repository taken once from ``/token`` with a personal access token. The
reference needs no credentials. Anonymous steps read a public package.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
REFERENCE_BINARY = Path("/usr/bin/docker-registry")
_BEARER: dict[tuple[int, str], tuple[str, float]] = {}  # (port, repository): (header, renew at)


@dataclass
class Target:
    """One registry under test: where it listens, how a client authenticates, whose CPU to count."""

    label: str
    port: int
    pids: Callable[[], list[int]]
    token: Callable[[str], dict[str, str]] = lambda _: {}
    anonymous_name: str = "bench/public"
    private_name: str = "bench/private"

    def conn(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)


def cpu_of(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds a target's processes spend between ``start`` and ``stop`` (pids re-read at both ends,
    so database backends that come and go are counted while they live)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.before: dict[int, float] = {}

    def start(self) -> None:
        self.before = {pid: cpu_of([pid]) for pid in self.target.pids()}

    def stop(self) -> float:
        after = {pid: cpu_of([pid]) for pid in self.target.pids()}
        return sum(after[pid] - self.before.get(pid, 0.0) for pid in after)


# --- the reference registry --------------------------------------------------------------------


class ReferenceRegistry:
    """distribution 2.8 with filesystem storage in a temporary directory, on ``port``."""

    def __init__(self, port: int, work: Path) -> None:
        self.port, self.root = port, Path(tempfile.mkdtemp(prefix="reference-", dir=work))
        self.config = self.root / "config.yml"
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return REFERENCE_BINARY.exists()

    def start(self) -> None:
        self.config.write_text(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.root / 'data'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{self.port}\n"
        )
        log = open(self.root / "registry.log", "wb")  # noqa: SIM115  (kept open for the process)
        self.process = subprocess.Popen([str(REFERENCE_BINARY), "serve", str(self.config)], stdout=log, stderr=log)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/v2/")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"the reference registry did not start; see {self.root / 'registry.log'}")

    def pids(self) -> list[int]:
        return [self.process.pid] if self.process else []

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(20)


# --- Wharf as production runs it: a user, a token, a public and a private package ----------------

SETUP = """
import sys
from django.contrib.auth import get_user_model
from tokens_app.services import token_create
user = get_user_model().objects.create_user("bench", password="bench-password-not-used")
scopes = ["read:packages", "write:packages", "delete:packages"]
print(token_create(user=user, note="bench", scopes=scopes, expires_at=None).plaintext)
"""
PUBLISH = """
from django.contrib.auth import get_user_model
from packages_app.models import Package
from packages_app.services.packages import package_set_visibility
user = get_user_model().objects.get(username="bench")
package_set_visibility(package=Package.objects.get(name="bench/public"), user=user, visibility="public")
"""


def wharf_shell(env: dict[str, str], tree: Path, code: str) -> str:
    command = [sys.executable, "manage.py", "shell", "-c", code]
    return subprocess.run(command, cwd=tree, env=env, check=True, capture_output=True, text=True).stdout.strip()


def postgres_backends(url: str, database: str) -> list[int]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (database,)
        ).fetchall()
    return [int(row[0]) for row in rows]


def bearer_for(port: int, pat: str) -> Callable[[str], dict[str, str]]:
    """A docker-like client: one registry token per repository, reused until shortly before the
    ``expires_in`` its answer gave (a slow run outlasts a token's lifetime), then fetched again."""
    import base64

    basic = "Basic " + base64.b64encode(f"bench:{pat}".encode()).decode()

    def token(name: str) -> dict[str, str]:
        if (port, name) not in _BEARER or _BEARER[(port, name)][1] < time.monotonic():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            path = f"/token?service=127.0.0.1:{port}&scope=repository:{name}:pull,push"
            conn.request("GET", path, headers={"Authorization": basic})
            reply = conn.getresponse()
            body = reply.read()
            if reply.status != 200:
                raise RuntimeError(f"/token: {reply.status} {body[:300]!r}")
            answer = json.loads(body)
            renew_at = time.monotonic() + max(10, int(answer.get("expires_in", 60)) - 30)
            _BEARER[(port, name)] = ("Bearer " + answer["token"], renew_at)
        return {"Authorization": _BEARER[(port, name)][0]}

    return token


# --- images ------------------------------------------------------------------------------------


def sha(data: bytes | memoryview) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


@dataclass
class Image:
    config: bytes
    layer: bytes
    manifest: bytes = b""
    digests: dict[str, str] = field(default_factory=dict)

    @classmethod
    def make(cls, base: bytes, unique: str) -> Image:
        config = json.dumps({"architecture": "amd64", "os": "linux", "bench": unique}).encode()
        layer = hashlib.sha256(unique.encode()).digest() + base[32:]  # distinct content, cheap to make
        image = cls(config, layer)
        image.digests = {"config": sha(config), "layer": sha(layer)}
        image.manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": image.digests["config"],
                    "size": len(config),
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": image.digests["layer"],
                        "size": len(layer),
                    }
                ],
            }
        ).encode()
        return image


def call(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    expect: int = 0,
) -> http.client.HTTPResponse:
    """One request. A kept-alive connection the server closed while the client was busy (building a
    100 MB image takes longer than gunicorn's 5 s keep-alive) is reopened once, as Go clients do, when
    the request can be sent again (no body, or bytes)."""
    try:
        conn.request(method, path, body=body, headers=headers or {})
        reply = conn.getresponse()
    except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
        if not (body is None or isinstance(body, bytes)):
            raise
        conn.close()
        conn.request(method, path, body=body, headers=headers or {})
        reply = conn.getresponse()
    data = reply.read()
    if expect and reply.status != expect:
        raise RuntimeError(f"{method} {path}: {reply.status} {data[:300]!r}")
    return reply


def with_digest(location: str, digest: str) -> str:
    return f"{location}{'&' if '?' in location else '?'}digest={digest}"


def push_blob(
    conn: http.client.HTTPConnection, auth: dict[str, str], name: str, data: bytes, digest: str, chunked: bool
) -> None:
    location = call(
        conn, "POST", f"/v2/{name}/blobs/uploads/", headers={**auth, "Content-Length": "0"}, expect=202
    ).headers["Location"]
    if chunked:  # docker's way: one PATCH, Transfer-Encoding: chunked, then PUT ?digest=
        pieces = (data[i : i + (1 << 20)] for i in range(0, len(data), 1 << 20))
        location = call(
            conn, "PATCH", location, pieces, {**auth, "Content-Type": "application/octet-stream"}, expect=202
        ).headers["Location"]
        call(conn, "PUT", with_digest(location, digest), headers={**auth, "Content-Length": "0"}, expect=201)
    else:
        headers = {**auth, "Content-Type": "application/octet-stream", "Content-Length": str(len(data))}
        call(conn, "PUT", with_digest(location, digest), data, headers, expect=201)


def push_image(
    conn: http.client.HTTPConnection, target: Target, name: str, tag: str, image: Image, chunked: bool
) -> None:
    auth = target.token(name)
    for blob, digest in ((image.config, image.digests["config"]), (image.layer, image.digests["layer"])):
        if call(conn, "HEAD", f"/v2/{name}/blobs/{digest}", headers=auth).status != 200:
            push_blob(conn, auth, name, blob, digest, chunked)
    headers = {**auth, "Content-Type": OCI_MANIFEST}
    call(conn, "PUT", f"/v2/{name}/manifests/{tag}", image.manifest, headers, expect=201)


def pull_image(conn: http.client.HTTPConnection, target: Target, name: str, tag: str) -> int:
    """What ``docker pull`` does: the manifest by tag, then config and layer, verified. Returns bytes."""
    auth = target.token(name)
    conn.request("GET", f"/v2/{name}/manifests/{tag}", headers={**auth, "Accept": OCI_MANIFEST})
    reply = conn.getresponse()
    manifest = json.loads(reply.read())
    total = 0
    for descriptor in (manifest["config"], *manifest["layers"]):
        conn.request("GET", f"/v2/{name}/blobs/{descriptor['digest']}", headers=auth)
        reply = conn.getresponse()
        hasher = hashlib.sha256()
        while data := reply.read(1 << 20):
            hasher.update(data)
            total += len(data)
        if reply.status != 200 or f"sha256:{hasher.hexdigest()}" != descriptor["digest"]:
            raise RuntimeError(f"pull {name}:{tag}: {reply.status}, digest mismatch or error")
    return total
