"""The request-rate steps: requests per second and p99 latency of ``GET /v2/`` and of a manifest, with
wrk when installed (else a threaded client), and the server's CPU per request."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import resource
import shutil
import subprocess
import threading
import time
from typing import Any

from client import call
from sampler import cpu_seconds
from server import Server
from steps import Bench, Row

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def rate_with_wrk(url: str, seconds: int, connections: int, headers: dict[str, str]) -> dict[str, Any]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    rps, p99_ms = wrk_figures(output, url)
    client_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {"rps": rps, "p99_ms": round(p99_ms, 2), "wrk_cpu_s": round(client_cpu, 2)}


def wrk_figures(output: str, what: str) -> tuple[float, float]:
    """Requests per second and the 99th percentile latency in ms from wrk's ``--latency`` output;
    a run with any error response is refused (its rate would not be the registry's)."""
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        raise RuntimeError(f"wrk {what}: {match.group(1)} error responses")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    if rate is None or p99 is None:
        raise RuntimeError(f"could not read wrk's output:\n{output}")
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[p99.group(2)]
    return float(rate.group(1)), float(p99.group(1)) * scale


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


def rates(bench: Bench) -> None:
    seconds = 3 if bench.args.quick else bench.args.rps_seconds
    connections = bench.args.connections
    targets = [("GET /v2/", "/v2/", {}), ("GET manifest", *_push_small_image(bench))]
    for label, path, headers in targets:
        result = request_rate(bench.server, path, seconds, connections, headers)
        step = f"{label} @ {connections} conns, {seconds} s"
        bench.add(Row(step, result.pop("rps"), "req/s", extra=result))


def _push_small_image(bench: Bench) -> tuple[str, dict[str, str]]:
    name, conn = "bench/small", bench.conn()
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
