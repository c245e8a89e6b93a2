"""The throughput steps: baselines A (sha256 + write + fsync) and B (a sendfile server), then a blob
pushed three ways, pulled, and pushed several times in parallel, with the server's peak memory."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import socket
import threading
import time
from pathlib import Path

from client import (
    CHUNK,
    MiB,
    digest_of,
    download,
    file_chunks,
    mbps,
    push_chunked_encoding,
    push_patches,
    push_put,
    timed,
)
from steps import Bench, Row

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


# --- the steps ------------------------------------------------------------------------------------


def throughput(bench: Bench) -> None:
    src = bench.work / "source.bin"
    print(f"making {bench.args.size} MiB of random data ...", flush=True)
    digest = make_random_file(src, bench.size)
    # Unmeasured: the first write of as much fresh page cache runs at a fraction of the speed of later
    # ones on this VM (memory the host has not given the guest yet). Measured first, baseline A paid
    # that alone (236-436 MB/s single-pass against 720 alternated): the push's ratio was flattered.
    _baseline_a(bench, src)
    base_a = _push_and_pull(bench, src, digest)
    _push_other_ways(bench, src, digest, base_a)
    _parallel(bench, src)
    src.unlink()


def _push_and_pull(bench: Bench, src: Path, digest: str) -> float:
    """Baseline A beside the one-PUT push and baseline B beside the pull, ``--throughput-rounds`` times,
    each pair in reversed order every other round (A then push, push then A, ...) so that a slow spell
    of the shared machine falls on both sides; each figure is the rate over all its rounds. Returns
    baseline A (MB/s), which the other pushes are compared with."""
    seconds = {"A": 0.0, "push": 0.0, "B": 0.0, "pull": 0.0}
    static = SendfileServer(src)
    static.start()

    def baseline_a() -> None:
        seconds["A"] += _baseline_a(bench, src)

    def push() -> None:
        bench.sampler.reset()
        seconds["push"] += timed(lambda: push_put(bench.conn(), "bench/put", src, 0, bench.size, digest))
        bench.memory["push_put"] = bench.sampler.peaks()

    def baseline_b() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", static.port, timeout=600)
        seconds["B"] += timed(lambda: download(conn, "/file", digest))

    def pull() -> None:
        bench.sampler.reset()
        seconds["pull"] += timed(lambda: download(bench.conn(), f"/v2/bench/put/blobs/{digest}", digest))
        bench.memory["pull"] = bench.sampler.peaks()

    rounds = bench.args.throughput_rounds
    for number in range(rounds):
        order = 1 if number % 2 == 0 else -1
        for step in [baseline_a, push][::order] + [baseline_b, pull][::order]:
            step()
        bench.remove_blob("bench/put", digest)
    static.close()
    rate = {name: mbps(bench.size * rounds, spent) for name, spent in seconds.items()}
    base_a = bench.add(Row("baseline A: sha256+write+fsync", rate["A"], "MB/s"))
    bench.add(Row("push: one PUT, Content-Length", rate["push"], "MB/s", rate["push"] / base_a.value))
    base_b = bench.add(Row("baseline B: sendfile server download", rate["B"], "MB/s"))
    bench.add(Row("pull: GET blob, sha256 verified", rate["pull"], "MB/s", rate["pull"] / base_b.value))
    return base_a.value


def _baseline_a(bench: Bench, src: Path) -> float:
    return baseline_hash_write_fsync(src, bench.work / "baseline-a.bin", bench.size)


def _push_other_ways(bench: Bench, src: Path, digest: str, base_a: float) -> None:
    bench.sampler.reset()
    seconds = timed(lambda: push_chunked_encoding(bench.conn(), "bench/te", src, 0, bench.size, digest))
    bench.memory["push_transfer_encoding_chunked"] = bench.sampler.peaks()
    rate = mbps(bench.size, seconds)
    bench.add(Row("push: one PATCH, Transfer-Encoding: chunked", rate, "MB/s", rate / base_a))
    bench.remove_blob("bench/te", digest)
    chunk = bench.args.chunk * MiB
    bench.sampler.reset()
    seconds = timed(lambda: push_patches(bench.conn(), "bench/patch", src, bench.size, digest, chunk))
    bench.memory["push_patches"] = bench.sampler.peaks()
    rate = mbps(bench.size, seconds)
    bench.add(Row(f"push: PATCH x {bench.args.chunk} MiB + PUT", rate, "MB/s", rate / base_a))
    bench.remove_blob("bench/patch", digest)


def _parallel(bench: Bench, src: Path) -> None:
    count = bench.args.parallel
    each = min(256 * MiB, bench.size // count)
    digests = [digest_of(src, i * each, each) for i in range(count)]
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            push_put(bench.conn(), f"bench/parallel-{i}", src, i * each, each, digests[i])
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    bench.sampler.reset()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    bench.memory["push_parallel"] = bench.sampler.peaks()
    if errors:
        raise errors[0]
    bench.add(Row(f"push: {count} in parallel x {each // MiB} MiB", mbps(count * each, seconds), "MB/s"))
    for i, digest in enumerate(digests):
        bench.remove_blob(f"bench/parallel-{i}", digest)
