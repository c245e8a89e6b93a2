"""Where a registry request's time goes: each request type, in process, through the real WSGI app.

Run by hand (``.venv/bin/python bench/hotpaths.py``), never by the tests. It drops and recreates a
PostgreSQL database (``--db``), migrates it, makes a user with a personal access token, pushes a
public and a private image, takes a registry bearer token for the private one, and then sends each
request type ``--n`` times through ``registry_site.wsgi.application`` exactly as gunicorn calls it
(one thread, so the process's CPU time is the request's CPU time). For each it prints the Python CPU
per request, the PostgreSQL backend's CPU per request (from /proc, same machine), the queries per
request and the functions with the most exclusive time under cProfile (``--top``).
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import hashlib
import io
import json
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
HOST = "registry.bench"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def wsgi_call(app: Any, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Reply:
    """One request through the WSGI app, as gunicorn makes it (the body as a stream)."""
    path_info, _, query = path.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "SERVER_NAME": HOST,
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": HOST,
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
    for key, value in (headers or {}).items():
        if key.lower() == "content-type":
            environ["CONTENT_TYPE"] = value
        else:
            environ["HTTP_" + key.upper().replace("-", "_")] = value
    started: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        started["status"], started["headers"] = int(status.split()[0]), dict(response_headers)

    result = app(environ, start_response)
    try:
        data = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return Reply(started["status"], started["headers"], data)


def sha(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


class Fixture:
    """Users, tokens and images the request types need."""

    def __init__(self, app: Any) -> None:
        from django.contrib.auth import get_user_model

        from packages_app.models import Package
        from packages_app.services.packages import package_set_visibility
        from tokens_app.services import token_create

        self.app = app
        self.user = get_user_model().objects.create_user("alice", password="x" * 20)
        scopes = ["read:packages", "write:packages"]
        self.pat = token_create(user=self.user, note="bench", scopes=scopes, expires_at=None).plaintext
        self.auth = {"Authorization": basic("alice", self.pat)}
        self.public_digest = self.push("alice/public", "latest", seed=b"public")
        self.private_digest = self.push("alice/private", "latest", seed=b"private")
        package_set_visibility(package=Package.objects.get(name="alice/public"), user=self.user, visibility="public")
        self.pull_bearer = self.bearer("repository:alice/private:pull")
        self.push_bearer = self.bearer("repository:alice/bench:pull,push")
        reply = wsgi_call(
            app, "POST", f"/v2/alice/bench/blobs/uploads/?digest={sha(self.layer)}", self.layer, self.auth
        )
        assert reply.status == 201, reply.body
        self.counter = 0

    def bearer(self, scope: str) -> dict[str, str]:
        reply = wsgi_call(self.app, "GET", f"/token?service={HOST}&scope={scope}", headers=self.auth)
        assert reply.status == 200, reply.body
        return {"Authorization": "Bearer " + json.loads(reply.body)["token"]}

    def push(self, name: str, tag: str, *, seed: bytes) -> str:
        config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed.hex()}).encode()
        layer = hashlib.sha512(seed).digest() * 64
        for blob in (config, layer):
            reply = wsgi_call(self.app, "POST", f"/v2/{name}/blobs/uploads/?digest={sha(blob)}", blob, self.auth)
            assert reply.status == 201, reply.body
        manifest = self.manifest(config, layer)
        reply = wsgi_call(
            self.app, "PUT", f"/v2/{name}/manifests/{tag}", manifest, {**self.auth, "Content-Type": OCI_MANIFEST}
        )
        assert reply.status == 201, reply.body
        self.layer = layer
        return sha(manifest)

    @staticmethod
    def manifest(config: bytes, layer: bytes) -> bytes:
        def descriptor(media_type: str, data: bytes) -> dict[str, Any]:
            return {"mediaType": media_type, "digest": sha(data), "size": len(data)}

        return json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": descriptor("application/vnd.oci.image.config.v1+json", config),
                "layers": [descriptor("application/vnd.oci.image.layer.v1.tar+gzip", layer)],
            }
        ).encode()

    def fresh(self) -> bytes:
        self.counter += 1
        return os.urandom(16) + self.counter.to_bytes(8, "big")


def expect(app: Any, status: int, *args: Any, **kwargs: Any) -> Reply:
    """``wsgi_call(app, *args, **kwargs)``, which must answer ``status``."""
    reply = wsgi_call(app, *args, **kwargs)
    assert reply.status == status, (args, reply.status, reply.body[:300])
    return reply


def read_types(fx: Fixture) -> dict[str, Callable[[], object]]:
    """The reads: ``/v2/``, ``/token``, manifests and a blob HEAD, public and private."""
    app, accept, layer = fx.app, {"Accept": OCI_MANIFEST}, sha(fx.layer)
    return {
        "GET /v2/ (anonymous: 401)": lambda: expect(app, 401, "GET", "/v2/"),
        "GET /v2/ (bearer)": lambda: expect(app, 200, "GET", "/v2/", headers=fx.pull_bearer),
        "GET /token (Basic PAT, pull scope)": lambda: expect(
            app, 200, "GET", f"/token?service={HOST}&scope=repository:alice/private:pull", headers=fx.auth
        ),
        "GET manifest by tag, public, anonymous": lambda: expect(
            app, 200, "GET", "/v2/alice/public/manifests/latest", headers=accept
        ),
        "HEAD manifest by tag, public, anonymous": lambda: expect(
            app, 200, "HEAD", "/v2/alice/public/manifests/latest", headers=accept
        ),
        "GET manifest by tag, private, bearer": lambda: expect(
            app, 200, "GET", "/v2/alice/private/manifests/latest", headers={**accept, **fx.pull_bearer}
        ),
        "GET manifest by digest, private, bearer": lambda: expect(
            app, 200, "GET", f"/v2/alice/private/manifests/{fx.private_digest}", headers={**accept, **fx.pull_bearer}
        ),
        "HEAD blob, private, bearer": lambda: expect(
            app, 200, "HEAD", f"/v2/alice/private/blobs/{layer}", headers=fx.pull_bearer
        ),
    }


def upload_monolithic(fx: Fixture) -> None:
    data, app = fx.fresh(), fx.app
    location = expect(app, 202, "POST", "/v2/alice/bench/blobs/uploads/", headers=fx.push_bearer).headers["Location"]
    expect(app, 201, "PUT", f"{location}?digest={sha(data)}", data, {**fx.push_bearer, "Content-Type": "x/y"})


def upload_chunked(fx: Fixture) -> None:
    data, app = fx.fresh(), fx.app
    location = expect(app, 202, "POST", "/v2/alice/bench/blobs/uploads/", headers=fx.push_bearer).headers["Location"]
    headers = {**fx.push_bearer, "Content-Range": f"0-{len(data) - 1}", "Content-Type": "application/octet-stream"}
    location = expect(app, 202, "PATCH", location, data, headers).headers["Location"]
    expect(app, 201, "PUT", f"{location}?digest={sha(data)}", b"", fx.push_bearer)


def manifest_put(fx: Fixture) -> None:
    config, app = fx.fresh(), fx.app
    for blob in (config,):
        expect(app, 201, "POST", f"/v2/alice/bench/blobs/uploads/?digest={sha(blob)}", blob, fx.push_bearer)
    body = fx.manifest(config, fx.layer)
    expect(app, 201, "PUT", "/v2/alice/bench/manifests/t", body, {**fx.push_bearer, "Content-Type": OCI_MANIFEST})


def request_types(fx: Fixture) -> dict[str, Callable[[], object]]:
    """Every request type, in the order of the printed table: the reads, then the writes."""
    return {
        **read_types(fx),
        "upload POST + PUT (monolithic, 24 B)": lambda: upload_monolithic(fx),
        "upload POST + PATCH + PUT (chunked)": lambda: upload_chunked(fx),
        "blob POST ?digest= + manifest PUT": lambda: manifest_put(fx),
    }


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0
        self.log: list[str] | None = None

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        if self.log is not None:
            self.log.append(sql)
        return execute(sql, params, many, context)


def query_log(action: Callable[[], object]) -> list[str]:
    """The SQL one request of this type sends (Django's query log, without DEBUG)."""
    from django.db import connection

    counter = QueryCounter()
    counter.log = []
    with connection.execute_wrapper(counter):
        action()
    return counter.log


def backend_cpu(pid: int | None) -> float:
    """The CPU seconds PostgreSQL's backend ``pid`` has used (0 without a connection, or once it ended)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(label: str, action: Callable[[], object], n: int, top: int) -> dict[str, Any]:
    from django.db import connection

    action()  # warm: imports, caches, the connection (a request type without queries opens none)
    backend = connection.connection.info.backend_pid if connection.connection is not None else None
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        cpu, pg = time.process_time(), backend_cpu(backend)
        for _ in range(n):
            action()
        cpu, pg = time.process_time() - cpu, backend_cpu(backend) - pg
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(max(1, n // 4)):
            action()
        profiler.disable()
    return {
        "request": label,
        "python_us": round(cpu / n * 1e6),
        "postgres_us": round(pg / n * 1e6),
        "queries": round(counter.count / (n + max(1, n // 4)), 1),
        "hot": hot_spots(profiler, top),
    }


GROUPS = [
    ("psycopg", "psycopg (incl. waiting for PostgreSQL)"),
    ("django/db/", "Django ORM"),
    ("rest_framework/", "DRF"),
    ("django/", "Django (other)"),
    ("celery/", "Celery/kombu"),
    ("kombu/", "Celery/kombu"),
]


def group_of(filename: str) -> str:
    if filename.startswith(str(REPO)) and "site-packages" not in filename:
        return "Wharf"
    for marker, group in GROUPS:
        if f"site-packages/{marker}" in filename:
            return group
    return "stdlib/builtins" if "site-packages" not in filename else "other packages"


def hot_spots(profiler: cProfile.Profile, top: int) -> list[str]:
    """Exclusive time by layer (psycopg, ORM, DRF, Django, Wharf, ...), the ``top`` largest shares."""
    stats = pstats.Stats(profiler)
    shares: dict[str, float] = {}
    for (filename, _, _), entry in stats.stats.items():  # type: ignore[attr-defined]
        group = group_of(filename)
        shares[group] = shares.get(group, 0.0) + entry[2]
    total = sum(shares.values()) or 1.0
    ranked = sorted(shares.items(), key=lambda item: item[1], reverse=True)[:top]
    return [f"{group} {seconds / total:.0%}" for group, seconds in ranked]


def setup_django(db_url: str) -> Any:
    import psycopg
    from psycopg import sql

    admin, _, name = db_url.rpartition("/")
    with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    data = tempfile.mkdtemp(prefix="profile-", dir=REPO / "data")
    os.environ.update(DATABASE_URL=db_url, WHARF_DATA_DIR=data, DJANGO_SETTINGS_MODULE="registry_site.settings")
    os.environ.pop("WHARF_ANONYMOUS_PUSH", None)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from registry_site.wsgi import application

    return application


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="postgres://postgres@127.0.0.1:5432/wharf_hotpaths")
    parser.add_argument("--n", type=int, default=400, help="requests per type")
    parser.add_argument("--top", type=int, default=4, help="hot functions shown per type")
    parser.add_argument("--only", default="", help="run only request types containing this text")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--queries", action="store_true", help="print the SQL of one request of each type")
    args = parser.parse_args(argv)
    (REPO / "data").mkdir(exist_ok=True)
    app = setup_django(args.db)
    fixture = Fixture(app)
    rows = []
    print("| request | Python CPU µs | PostgreSQL CPU µs | queries | most exclusive time (cProfile) |")
    print("|---|---|---|---|---|")
    for label, action in request_types(fixture).items():
        if args.only and args.only not in label:
            continue
        if args.queries:
            print(f"\n-- {label}")
            print("\n".join(query_log(action)))
            continue
        row = measure(label, action, args.n, args.top)
        rows.append(row)
        hot = "; ".join(row["hot"])
        print(f"| {label} | {row['python_us']} | {row['postgres_us']} | {row['queries']} | {hot} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
