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
* peak memory (RSS, PSS and USS) of the gunicorn master and workers during the push and the pull.

MB is 10**6 bytes. Blobs live in a temporary directory under ``data/`` (gitignored): the same disk as
the repository, whereas /tmp may be a RAM disk. ``DELETE /v2/.../blobs/<digest>`` keeps a blob's
bytes until garbage collection, so the benchmark also removes the file itself between steps.
Results are printed as a table and written to ``bench/results/<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fleet import PUBLISH, SETUP, ReferenceRegistry, Target, bearer_for, postgres_backends, wharf_shell
from fleet_steps import compare, print_comparisons
from rates import rates
from results import loadavg, print_table, write_results
from sampler import MemorySampler
from server import REPO, Server, free_port
from steps import Bench
from throughput import throughput

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
    parser.add_argument(
        "--fleet-rounds",
        type=int,
        default=2,
        help="rounds of each fleet step, the order of Wharf and the reference reversed every other round",
    )
    parser.add_argument(
        "--throughput-rounds",
        type=int,
        default=2,
        help="rounds of the one-PUT push beside baseline A and the pull beside baseline B (order reversed each round)",
    )
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
            throughput(bench)
        if args.only in {"all", "rps"}:
            rates(bench)
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
