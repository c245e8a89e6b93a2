"""Wharf's throughput and request-rate benchmark, run by hand (`make bench`), never in the tests.

It starts Wharf as in production -- a fresh PostgreSQL database, ``manage.py migrate``, gunicorn with
several gthread workers on a free loopback port -- and measures, against two baselines that show what
the machine itself can do:

* baseline A: sha256 + write + fsync of the blob in plain Python, the floor of any push;
* push of one blob: one ``PUT ?digest=`` with Content-Length, one ``PATCH`` with
  ``Transfer-Encoding: chunked`` (what docker sends), and a series of ``PATCH`` chunks with Content-Range;
* baseline B: the same file sent with sendfile by a minimal server, read by the same client code;
* pull of the blob, verifying its sha256 while reading;
* several pushes in parallel;
* requests per second and p99 latency of ``GET /v2/`` and ``GET`` of a manifest (wrk if installed);
* peak memory (RSS) of the gunicorn master and workers during the push and the pull.

MB is 10**6 bytes. Blobs live in a temporary directory under ``data/`` (gitignored): the same disk as
the repository, whereas /tmp may be a RAM disk. ``DELETE /v2/.../blobs/<digest>`` keeps a blob's
bytes until garbage collection, so the benchmark also removes the file itself between steps.
Results are printed as a table and written to ``bench/results/<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from fleet import PUBLISH, SETUP, ReferenceRegistry, Target, bearer_for, postgres_backends, wharf_shell
from fleet_steps import compare, print_comparisons
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
MiB = 1 << 20
CHUNK = MiB
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


@dataclass
class Row:
    """One line of the results table."""

    step: str
    value: float
    unit: str
    ratio: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def mbps(nbytes: int, seconds: float) -> float:
    return nbytes / seconds / 1e6


# --- the server -----------------------------------------------------------------------------------


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


# --- memory and CPU of the server's process tree (from /proc) ------------------------------------


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
    return found


def rss_bytes(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of ``pids`` (all their threads)."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


class MemorySampler(threading.Thread):
    """Samples the RSS of gunicorn's master and workers every 100 ms; keeps the peaks of a phase."""

    def __init__(self, master: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.master, self.interval = master, interval
        self.stopped = threading.Event()
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.peak_total = self.peak_worker = self.samples = 0

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            workers = children(self.master)
            sizes = [rss_bytes(pid) for pid in workers]
            total = rss_bytes(self.master) + sum(sizes)
            with self.lock:
                self.peak_total = max(self.peak_total, total)
                self.peak_worker = max([self.peak_worker, *sizes])
                self.samples += 1

    def peaks(self) -> dict[str, float]:
        with self.lock:
            return {
                "peak_total_mib": round(self.peak_total / MiB, 1),
                "peak_worker_mib": round(self.peak_worker / MiB, 1),
                "samples": self.samples,
            }


# --- the HTTP client (http.client, streaming) ----------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def call(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    expect: int | None = None,
) -> Reply:
    """One request; the whole (small) answer is read so the connection can be reused."""
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    reply = Reply(response.status, response.headers, response.read())
    if expect is not None and reply.status != expect:
        raise RuntimeError(f"{method} {path}: {reply.status} {reply.body[:500]!r}")
    return reply


def file_chunks(path: Path, offset: int, length: int) -> Iterator[bytes]:
    with open(path, "rb") as source:
        source.seek(offset)
        while length > 0:
            data = source.read(min(CHUNK, length))
            if not data:
                raise RuntimeError(f"{path} is shorter than expected")
            length -= len(data)
            yield data


def digest_of(path: Path, offset: int, length: int) -> str:
    hasher = hashlib.sha256()
    for data in file_chunks(path, offset, length):
        hasher.update(data)
    return f"sha256:{hasher.hexdigest()}"


def with_digest(location: str, digest: str) -> str:
    return f"{location}{'&' if '?' in location else '?'}digest={quote(digest)}"


def start_upload(conn: http.client.HTTPConnection, name: str) -> str:
    location = call(conn, "POST", f"/v2/{name}/blobs/uploads/", headers={"Content-Length": "0"}, expect=202).headers
    return str(location["Location"])


def push_put(conn: http.client.HTTPConnection, name: str, src: Path, offset: int, length: int, digest: str) -> None:
    """POST, then the whole blob in one PUT ?digest= with Content-Length."""
    location = start_upload(conn, name)
    headers = {"Content-Length": str(length), "Content-Type": "application/octet-stream"}
    call(conn, "PUT", with_digest(location, digest), file_chunks(src, offset, length), headers, expect=201)


def push_chunked_encoding(
    conn: http.client.HTTPConnection, name: str, src: Path, offset: int, length: int, digest: str
) -> None:
    """POST, one PATCH with Transfer-Encoding: chunked (no Content-Length), then PUT ?digest= (docker)."""
    location = start_upload(conn, name)
    headers = {"Content-Type": "application/octet-stream"}  # http.client adds Transfer-Encoding: chunked
    location = call(conn, "PATCH", location, file_chunks(src, offset, length), headers, expect=202).headers["Location"]
    call(conn, "PUT", with_digest(location, digest), headers={"Content-Length": "0"}, expect=201)


def push_patches(conn: http.client.HTTPConnection, name: str, src: Path, length: int, digest: str, chunk: int) -> None:
    """POST, PATCH requests of ``chunk`` bytes with Content-Range, then PUT ?digest=."""
    location = start_upload(conn, name)
    for start in range(0, length, chunk):
        size = min(chunk, length - start)
        headers = {"Content-Length": str(size), "Content-Range": f"{start}-{start + size - 1}"}
        body = file_chunks(src, start, size)
        location = call(conn, "PATCH", location, body, headers, expect=202).headers["Location"]
    call(conn, "PUT", with_digest(location, digest), headers={"Content-Length": "0"}, expect=201)


def download(conn: http.client.HTTPConnection, path: str, digest: str | None = None) -> int:
    """GET ``path`` into a 1 MiB buffer, hashing as it arrives; checks the digest if given."""
    conn.request("GET", path)
    response = conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status} {response.read()[:500]!r}")
    hasher, buffer, total = hashlib.sha256(), bytearray(CHUNK), 0
    view = memoryview(buffer)
    while n := response.readinto(view):
        hasher.update(view[:n])
        total += n
    if digest is not None and f"sha256:{hasher.hexdigest()}" != digest:
        raise RuntimeError(f"GET {path}: the body does not match {digest}")
    return total


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


# --- baselines ------------------------------------------------------------------------------------


def make_random_file(path: Path, size: int) -> str:
    hasher = hashlib.sha256()
    with open(path, "wb") as out:
        for _ in range(0, size, CHUNK):
            data = os.urandom(CHUNK)
            hasher.update(data)
            out.write(data)
        out.flush()
        os.fsync(out.fileno())  # so its write-back does not run during baseline A
    return f"sha256:{hasher.hexdigest()}"


def baseline_hash_write_fsync(src: Path, dst: Path, size: int) -> float:
    """What a push must do at least: hash, write and fsync every byte (seconds)."""
    started = time.perf_counter()
    hasher = hashlib.sha256()
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for data in file_chunks(src, 0, size):
            hasher.update(data)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    elapsed = time.perf_counter() - started
    dst.unlink()
    return elapsed


class SendfileServer(threading.Thread):
    """The smallest HTTP/1.1 server that answers every GET with one file, sent with sendfile."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])

    def run(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.listener.accept()
                threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        size = self.path.stat().st_size
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nContent-Type: application/octet-stream\r\n\r\n"
        with conn, contextlib.suppress(OSError):
            pending = b""
            while True:
                while b"\r\n\r\n" not in pending:
                    data = conn.recv(65536)
                    if not data:
                        return
                    pending += data
                pending = pending.split(b"\r\n\r\n", 1)[1]
                conn.sendall(head.encode())
                with open(self.path, "rb") as source:
                    conn.sendfile(source)

    def close(self) -> None:
        self.listener.close()


# --- request rate ---------------------------------------------------------------------------------


def rate_with_wrk(url: str, seconds: int, connections: int, headers: dict[str, str]) -> dict[str, Any]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        raise RuntimeError(f"wrk {url}: {match.group(1)} error responses")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    if rate is None or p99 is None:
        raise RuntimeError(f"could not read wrk's output:\n{output}")
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[p99.group(2)]
    client_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {
        "rps": float(rate.group(1)),
        "p99_ms": round(float(p99.group(1)) * scale, 2),
        "wrk_cpu_s": round(client_cpu, 2),
    }


def rate_with_threads(port: int, path: str, seconds: int, connections: int, headers: dict[str, str]) -> dict[str, Any]:
    """Fallback without wrk: one thread and keep-alive connection per client (GIL-bound: a floor)."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    def client() -> None:
        conn, mine = http.client.HTTPConnection("127.0.0.1", port, timeout=30), []
        while time.monotonic() < deadline:
            started = time.perf_counter()
            call(conn, "GET", path, headers=headers, expect=200)
            mine.append(time.perf_counter() - started)
        latencies.extend(mine)

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed, ordered = time.monotonic() - started, sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e3 if ordered else float("nan")
    return {"rps": len(ordered) / elapsed, "p99_ms": round(p99, 2), "client": "threads"}


def request_rate(server: Server, path: str, seconds: int, connections: int, headers: dict[str, str]) -> dict[str, Any]:
    """Requests per second at ``connections`` keep-alive connections, with the server's CPU per request."""
    pids = [server.process.pid, *server.workers()] if server.process else []
    cpu_before, wall_before = cpu_seconds(pids), time.monotonic()
    if shutil.which("wrk"):
        result = rate_with_wrk(f"http://127.0.0.1:{server.port}{path}", seconds, connections, headers)
    else:
        result = rate_with_threads(server.port, path, seconds, connections, headers)
    server_cpu = cpu_seconds(pids) - cpu_before
    result["server_cpu_cores"] = round(server_cpu / (time.monotonic() - wall_before), 2)
    result["server_cpu_us_per_request"] = round(server_cpu / (result["rps"] * seconds) * 1e6, 1)
    return result


# --- the steps ------------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace, server: Server, sampler: MemorySampler, work: Path) -> None:
        self.args, self.server, self.sampler, self.work = args, server, sampler, work
        self.rows: list[Row] = []
        self.memory: dict[str, dict[str, float]] = {}
        self.comparisons: list[Any] = []
        self.size = args.size * MiB

    def conn(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=600)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        ratio = f" ({row.ratio:.2f}x)" if row.ratio is not None else ""
        print(f"  {row.step}: {row.value:.1f} {row.unit}{ratio}", flush=True)
        return row

    def remove_blob(self, name: str, digest: str) -> None:
        call(self.conn(), "DELETE", f"/v2/{name}/blobs/{digest}", expect=202)
        self.server.forget_blob(digest)

    def throughput(self) -> None:
        src = self.work / "source.bin"
        print(f"making {self.args.size} MiB of random data ...", flush=True)
        digest = make_random_file(src, self.size)
        base_a = self.add(Row("baseline A: sha256+write+fsync", mbps(self.size, self._baseline_a(src)), "MB/s"))
        self._push_and_pull(src, digest, base_a.value)
        self._push_other_ways(src, digest, base_a.value)
        self._parallel(src)
        src.unlink()

    def _baseline_a(self, src: Path) -> float:
        return baseline_hash_write_fsync(src, self.work / "baseline-a.bin", self.size)

    def _push_and_pull(self, src: Path, digest: str, base_a: float) -> None:
        self.sampler.reset()
        seconds = timed(lambda: push_put(self.conn(), "bench/put", src, 0, self.size, digest))
        self.memory["push_put"] = self.sampler.peaks()
        self.add(
            Row("push: one PUT, Content-Length", mbps(self.size, seconds), "MB/s", mbps(self.size, seconds) / base_a)
        )
        static = SendfileServer(src)
        static.start()
        conn = http.client.HTTPConnection("127.0.0.1", static.port, timeout=600)
        seconds = timed(lambda: download(conn, "/file", digest))
        static.close()
        base_b = self.add(Row("baseline B: sendfile server download", mbps(self.size, seconds), "MB/s"))
        self.sampler.reset()
        seconds = timed(lambda: download(self.conn(), f"/v2/bench/put/blobs/{digest}", digest))
        self.memory["pull"] = self.sampler.peaks()
        rate = mbps(self.size, seconds)
        self.add(Row("pull: GET blob, sha256 verified", rate, "MB/s", rate / base_b.value))
        self.remove_blob("bench/put", digest)

    def _push_other_ways(self, src: Path, digest: str, base_a: float) -> None:
        self.sampler.reset()
        seconds = timed(lambda: push_chunked_encoding(self.conn(), "bench/te", src, 0, self.size, digest))
        self.memory["push_transfer_encoding_chunked"] = self.sampler.peaks()
        rate = mbps(self.size, seconds)
        self.add(Row("push: one PATCH, Transfer-Encoding: chunked", rate, "MB/s", rate / base_a))
        self.remove_blob("bench/te", digest)
        chunk = self.args.chunk * MiB
        self.sampler.reset()
        seconds = timed(lambda: push_patches(self.conn(), "bench/patch", src, self.size, digest, chunk))
        self.memory["push_patches"] = self.sampler.peaks()
        rate = mbps(self.size, seconds)
        self.add(Row(f"push: PATCH x {self.args.chunk} MiB + PUT", rate, "MB/s", rate / base_a))
        self.remove_blob("bench/patch", digest)

    def _parallel(self, src: Path) -> None:
        count = self.args.parallel
        each = min(256 * MiB, self.size // count)
        digests = [digest_of(src, i * each, each) for i in range(count)]
        errors: list[BaseException] = []

        def one(i: int) -> None:
            try:
                push_put(self.conn(), f"bench/parallel-{i}", src, i * each, each, digests[i])
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
        self.sampler.reset()
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        self.memory["push_parallel"] = self.sampler.peaks()
        if errors:
            raise errors[0]
        self.add(Row(f"push: {count} in parallel x {each // MiB} MiB", mbps(count * each, seconds), "MB/s"))
        for i, digest in enumerate(digests):
            self.remove_blob(f"bench/parallel-{i}", digest)

    def rates(self) -> None:
        seconds = 3 if self.args.quick else self.args.rps_seconds
        connections = self.args.connections
        targets = [("GET /v2/", "/v2/", {}), ("GET manifest", *self._push_small_image())]
        for label, path, headers in targets:
            result = request_rate(self.server, path, seconds, connections, headers)
            step = f"{label} @ {connections} conns, {seconds} s"
            self.add(Row(step, result.pop("rps"), "req/s", extra=result))

    def _push_small_image(self) -> tuple[str, dict[str, str]]:
        name, conn = "bench/small", self.conn()
        config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}}).encode()
        layer = os.urandom(4096)
        for blob in (config, layer):
            digest = f"sha256:{hashlib.sha256(blob).hexdigest()}"
            call(conn, "POST", f"/v2/{name}/blobs/uploads/?digest={digest}", blob, expect=201)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": descriptor(OCI_CONFIG, config),
                "layers": [descriptor(OCI_LAYER, layer)],
            }
        ).encode()
        call(conn, "PUT", f"/v2/{name}/manifests/latest", manifest, {"Content-Type": OCI_MANIFEST}, expect=201)
        return f"/v2/{name}/manifests/latest", {"Accept": OCI_MANIFEST}


def descriptor(media_type: str, data: bytes) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": f"sha256:{hashlib.sha256(data).hexdigest()}", "size": len(data)}


# --- report ---------------------------------------------------------------------------------------


def print_table(rows: list[Row], memory: dict[str, dict[str, float]]) -> None:
    print(f"\n{'step':<48} {'result':>14} {'vs baseline':>12}  notes")
    for row in rows:
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else ""
        notes = ", ".join(f"{k}={v}" for k, v in row.extra.items())
        print(f"{row.step:<48} {row.value:>9.1f} {row.unit:<5}{ratio:>11}  {notes}")
    if memory:
        print(f"\n{'server memory during':<48} {'peak sum RSS':>14} {'peak worker':>12}")
        for phase, peaks in memory.items():
            print(f"{phase:<48} {peaks['peak_total_mib']:>10.1f} MiB {peaks['peak_worker_mib']:>8.1f} MiB")


def git_revision() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout
    return result.stdout.strip() + ("-dirty" if dirty.strip() else "")


def write_results(args: argparse.Namespace, bench: Bench, started: datetime, load_start: str) -> Path:
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    document = {
        "started": started.isoformat(),
        "git": git_revision(),
        "args": vars(args),
        "host": {"cpus": os.cpu_count(), "loadavg_start": load_start, "loadavg_end": loadavg()},
        "results": [asdict(row) for row in bench.rows],
        "memory": bench.memory,
        "fleet": [
            {"step": c.step, "ratio": c.ratio(), "results": {k: asdict(v) for k, v in c.results.items()}}
            for c in bench.comparisons
        ],
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return path


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- the fleet, beside the reference registry (bench/fleet.py, bench/fleet_steps.py) ---------------


def run_fleet(args: argparse.Namespace, work: Path, memory: dict[str, dict[str, float]]) -> list[Any]:
    """Wharf closed, as production runs it, and the reference registry if installed: every fleet step."""
    server = Server(args, work / "fleet-server")
    server.env["WHARF_ANONYMOUS_PUSH"] = "false"
    reference = ReferenceRegistry(free_port(), work) if ReferenceRegistry.available() else None
    try:
        print(f"\nfleet: starting Wharf (closed) and {'the reference registry' if reference else 'no reference'} ...")
        server.start()
        assert server.process is not None
        sampler = MemorySampler(server.process.pid)
        sampler.start()
        pat = wharf_shell(server.env, args.tree, SETUP).splitlines()[-1]
        admin = args.pg_url.rstrip("/") + "/postgres"
        process = server.process

        def wharf_pids() -> list[int]:
            return [process.pid, *server.workers(), *postgres_backends(admin, args.db_name)]

        targets = [Target("Wharf", server.port, wharf_pids, bearer_for(server.port, pat))]
        if reference is not None:
            reference.start()
            targets.append(Target("reference", reference.port, reference.pids))

        def record_memory(step: str) -> None:
            memory[step] = sampler.peaks()
            sampler.reset()

        return compare(targets, args, lambda: wharf_shell(server.env, args.tree, PUBLISH), record_memory)
    except BaseException:
        print(f"gunicorn's log ends:\n{server.log_tail()}", file=sys.stderr)
        raise
    finally:
        if reference is not None:
            reference.stop()
        server.stop()


# --- main -----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1024, help="blob size in MiB (default 1024)")
    parser.add_argument("--quick", action="store_true", help="3 s request-rate runs instead of --rps-seconds")
    parser.add_argument("--only", choices=["all", "throughput", "rps", "fleet"], default="all")
    parser.add_argument("--fleet-clients", type=int, default=10, help="concurrent clients of the fleet steps")
    parser.add_argument("--fleet-sizes", default="1,10,100", help="layer sizes of the fleet steps, MB")
    parser.add_argument(
        "--fleet-images", default="100,20,3", help="images each client pushes at each size (disk: 2 x 2 x sum)"
    )
    parser.add_argument("--mix-size", type=int, default=10, help="layer size (MB) of the 75/25 pull/push mix")
    parser.add_argument("--mix-operations", type=int, default=20, help="mix operations per client")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (default 8; 1 for sync)")
    parser.add_argument(
        "--worker-class",
        default="registry_site.worker.RegistryThreadWorker",
        help="gunicorn worker class (the default is make run's; gthread is gunicorn's own)",
    )
    parser.add_argument(
        "--server", choices=["gunicorn", "granian"], default="gunicorn", help="granian: its WSGI server, to compare"
    )
    parser.add_argument("--chunk", type=int, default=64, help="PATCH chunk size in MiB (default 64)")
    parser.add_argument("--parallel", type=int, default=4, help="parallel pushes of min(256 MiB, size/N)")
    parser.add_argument("--rps-seconds", type=int, default=10, help="length of each request-rate run")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections for rate runs")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server")
    parser.add_argument("--db-name", default="wharf_bench", help="database to drop and create")
    parser.add_argument("--tree", type=Path, default=REPO, help="Wharf source tree to run (default: this one)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started, load_start = datetime.now(UTC), loadavg()
    (REPO / "data").mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-", dir=REPO / "data"))
    server = Server(args, work / "server")
    try:
        print(f"starting {args.server} ({args.workers} x {args.threads} {args.worker_class}) ...", flush=True)
        server.start()
        assert server.process is not None
        sampler = MemorySampler(server.process.pid)
        sampler.start()
        bench = Bench(args, server, sampler, work)
        if args.only in {"all", "throughput"}:
            bench.throughput()
        if args.only in {"all", "rps"}:
            bench.rates()
        sampler.stopped.set()
    except BaseException:
        print(f"gunicorn's log ends:\n{server.log_tail()}", file=sys.stderr)
        raise
    finally:
        server.stop()
    comparisons = []
    try:
        if args.only in {"all", "fleet"}:
            comparisons = run_fleet(args, work, bench.memory)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(bench.rows, bench.memory)
    print_comparisons(comparisons)
    bench.comparisons = comparisons
    path = write_results(args, bench, started, load_start)
    print(f"\nload average {load_start} -> {loadavg()} (other work on the machine makes numbers noisy)")
    print(f"results: {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
