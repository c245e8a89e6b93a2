"""The fleet steps (bench/fleet.py holds the targets and the client): request rates at 16 connections
and fleets of concurrent clients pushing and pulling images, each run against every target in turn and
printed side by side with the ratio to the reference."""

from __future__ import annotations

import os
import random
import re
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from fleet import CpuMeter, Image, Target, call, pull_image, push_image
from rates import wrk_figures


@dataclass
class Result:
    value: float
    unit: str
    cpu_ms: float  # server CPU (all its processes, and the database's) per request or per image
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Comparison:
    step: str
    results: dict[str, Result]

    def ratio(self, label: str = "Wharf", reference: str = "reference") -> float | None:
        if label in self.results and reference in self.results and self.results[reference].value:
            return self.results[label].value / self.results[reference].value
        return None


# --- request rates (wrk) -------------------------------------------------------------------------


def wrk(
    port: int, path: str, headers: dict[str, str], *, method: str, seconds: int, connections: int
) -> dict[str, Any]:
    """GETs with wrk; HEADs with ApacheBench (wrk waits for a body after a HEAD's Content-Length)."""
    if method == "HEAD":
        return _ab_head(port, path, headers, seconds=seconds, connections=connections)
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    output = subprocess.run([*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True).stdout
    rps, p99_ms = wrk_figures(output, f"{method} {path}")
    return {"rps": rps, "p99_ms": round(p99_ms, 1), "client": "wrk"}


def _ab_head(port: int, path: str, headers: dict[str, str], *, seconds: int, connections: int) -> dict[str, Any]:
    command = ["ab", "-q", "-k", "-i", f"-c{connections}", f"-t{seconds}", "-n10000000"]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    output = subprocess.run([*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True).stdout
    if match := re.search(r"Non-2xx responses:\s+(\d+)", output):
        raise RuntimeError(f"ab HEAD {path}: {match.group(1)} error responses")
    rate = re.search(r"Requests per second:\s+([\d.]+)", output)
    p99 = re.search(r"^\s+99%\s+(\d+)", output, re.MULTILINE)
    if rate is None or p99 is None:
        raise RuntimeError(f"could not read ab's output:\n{output}")
    return {"rps": float(rate.group(1)), "p99_ms": float(p99.group(1)), "client": "ab"}


def rate_steps(target: Target, manifest_tag: str, layer_digest: str) -> list[tuple[str, str, str, dict[str, str]]]:
    """(step, method, path, headers): what a fleet's clients send most."""
    public, private = target.anonymous_name, target.private_name
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
    bearer = target.token(private)
    return [
        ("GET /v2/ (bearer)", "GET", "/v2/", bearer),
        ("GET manifest, public, anonymous", "GET", f"/v2/{public}/manifests/{manifest_tag}", accept),
        ("HEAD manifest, public, anonymous", "HEAD", f"/v2/{public}/manifests/{manifest_tag}", accept),
        ("GET manifest, private, bearer", "GET", f"/v2/{private}/manifests/{manifest_tag}", {**accept, **bearer}),
        ("HEAD manifest, private, bearer", "HEAD", f"/v2/{private}/manifests/{manifest_tag}", {**accept, **bearer}),
        ("HEAD blob, private, bearer", "HEAD", f"/v2/{private}/blobs/{layer_digest}", bearer),
    ]


def measure_rate(target: Target, method: str, path: str, headers: dict[str, str], seconds: int) -> Result:
    meter = CpuMeter(target)
    meter.start()
    result = wrk(target.port, path, headers, method=method, seconds=seconds, connections=16)
    cpu = meter.stop()
    cpu_ms = cpu / max(result["rps"] * seconds, 1) * 1e3
    return Result(result["rps"], "req/s", round(cpu_ms, 3), {"p99_ms": result["p99_ms"], "client": result["client"]})


# --- fleets of clients ---------------------------------------------------------------------------


def run_clients(count: int, work: Callable[[int], int]) -> tuple[float, int]:
    """``count`` threads each running ``work(client)``; returns (seconds, sum of what they returned)."""
    errors: list[BaseException] = []
    totals = [0] * count

    def one(client: int) -> None:
        try:
            totals[client] = work(client)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=one, args=(c,)) for c in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started, sum(totals)


@dataclass
class Tally:
    """A step's work against one target summed over its rounds: what was done, in how long, at what CPU."""

    done: int = 0
    seconds: float = 0.0
    cpu: float = 0.0

    def add(self, other: Tally) -> None:
        self.done += other.done
        self.seconds += other.seconds
        self.cpu += other.cpu

    def result(self, unit: str, size: int) -> Result:
        mbps = self.done * size / self.seconds / 1e6
        extra = {"MB_s": round(mbps, 1), "s": round(self.seconds, 1)}
        return Result(self.done / self.seconds, unit, round(self.cpu / self.done * 1e3, 2), extra)


@dataclass
class Fleet:
    """``clients`` concurrent clients, each pushing or pulling ``images`` images of a ``size``-byte layer
    per round; a round's images and tags are its own (``round``), so every push sends new content."""

    clients: int
    images: int  # per client and round
    size: int  # layer bytes
    base: bytes = b""

    def __post_init__(self) -> None:
        self.base = os.urandom(self.size)

    def image(self, target: Target, mode: str, client: int, index: int) -> Image:
        return Image.make(self.base, f"{target.label}/{mode}/{self.size}/{client}/{index}")

    def push(self, target: Target, round: int, mode: str) -> Tally:
        def work(client: int) -> int:
            conn, name = target.conn(), f"bench/fleet-{client}"
            for index in range(round * self.images, (round + 1) * self.images):
                image = self.image(target, mode, client, index)
                push_image(conn, target, name, f"{mode}-{self.size}-{index}", image, chunked=mode == "chunked")
            return self.images

        return self._timed(target, work)

    def pull(self, target: Target, mode: str, round: int = 0) -> Tally:
        """Pulls of the images the first round pushed (every round pulls the same ones)."""

        def work(client: int) -> int:
            conn, name = target.conn(), f"bench/fleet-{client}"
            for index in range(self.images):
                pull_image(conn, target, name, f"{mode}-{self.size}-{index}")
            return self.images

        return self._timed(target, work)

    def mix(self, target: Target, operations: int, round: int = 0) -> Tally:
        """75 % pulls of images pushed before ("monolithic"), 25 % pushes of new ones."""

        def work(client: int) -> int:
            conn, name = target.conn(), f"bench/fleet-{client}"
            chooser = random.Random(7 + client + 1000 * round)
            for index in range(round * operations, (round + 1) * operations):
                if chooser.random() < 0.75:
                    pull_image(conn, target, name, f"monolithic-{self.size}-{chooser.randrange(self.images)}")
                else:
                    image = self.image(target, "mix", client, index)
                    push_image(conn, target, name, f"mix-{self.size}-{index}", image, chunked=True)
            return operations

        return self._timed(target, work)

    def _timed(self, target: Target, work: Callable[[int], int]) -> Tally:
        meter = CpuMeter(target)
        meter.start()
        seconds, done = run_clients(self.clients, work)
        return Tally(done, seconds, meter.stop())


def in_rounds(targets: list[Target], rounds: int, step: Callable[[Target, int], Tally]) -> dict[str, Tally]:
    """``step`` against every target, ``rounds`` times, the order reversed every other round (A B, B A,
    ...): a slow spell of the shared machine then falls on both, not on whichever ran second."""
    tallies = {target.label: Tally() for target in targets}
    for number in range(rounds):
        for target in targets if number % 2 == 0 else targets[::-1]:
            tallies[target.label].add(step(target, number))
    return tallies


def seed_rate_content(target: Target) -> tuple[str, str]:
    """A small image in the public and in the private package; returns (tag, layer digest)."""
    image = Image.make(os.urandom(4096), f"{target.label}/rates")
    conn = target.conn()
    for name in (target.anonymous_name, target.private_name):
        push_image(conn, target, name, "latest", image, chunked=False)
    call(conn, "GET", "/v2/")
    return "latest", image.digests["layer"]


# --- the whole comparison ------------------------------------------------------------------------


def compare(
    targets: list[Target], args: Any, publish: Callable[[], object], memory: Callable[[str], None]
) -> list[Comparison]:
    """Every step against every target, in turn (``publish`` makes the anonymous package public once
    it exists; ``memory(step)`` records the server's memory peaks of the step just run)."""
    seconds = 3 if args.quick else args.rps_seconds
    seeds = {target.label: seed_rate_content(target) for target in targets}
    publish()
    comparisons = []
    for index, (step, *_) in enumerate(rate_steps(targets[0], "latest", seeds[targets[0].label][1])):
        results = {}
        for target in targets:
            _, method, path, headers = rate_steps(target, *seeds[target.label])[index]
            results[target.label] = measure_rate(target, method, path, headers, seconds)
        comparisons.append(announce(Comparison(f"{step} @ 16 conns", results)))
    sizes = [int(s) for s in args.fleet_sizes.split(",")]
    counts = [int(c) for c in args.fleet_images.split(",")]
    for size, images in zip(sizes, counts, strict=True):
        comparisons += _fleet_steps(targets, Fleet(args.fleet_clients, images, size * 10**6), args, memory)
    return comparisons


def _fleet_steps(targets: list[Target], fleet: Fleet, args: Any, memory: Callable[[str], None]) -> list[Comparison]:
    """Pushes both ways, pulls and (at ``--mix-size``) the mix, at one layer size, in ``--fleet-rounds``."""
    rounds, size, comparisons = args.fleet_rounds, fleet.size // 10**6, []
    label = f"{fleet.clients} x {fleet.images * rounds}"

    def results(tallies: dict[str, Tally], unit: str) -> dict[str, Result]:
        return {name: tally.result(unit, fleet.size) for name, tally in tallies.items()}

    # Chunked first: the pulls and the mix fetch the monolithic images, so those are the ones written
    # last, still in the page cache for both registries. In the other order, at 100 MB and two rounds
    # (24 GB pushed, more than this machine's memory), the images Wharf pushed first were the first
    # evicted and its pulls read the disk while the reference's came from memory (0.45 once).
    for mode in ("chunked", "monolithic"):
        pushes = in_rounds(targets, rounds, partial(fleet.push, mode=mode))
        comparisons.append(announce(Comparison(f"{label} pushes, {size} MB, {mode}", results(pushes, "pushes/s"))))
        memory(f"fleet push {size} MB {mode}")
    pulls = in_rounds(targets, rounds, lambda target, number: fleet.pull(target, "monolithic", number))
    comparisons.append(announce(Comparison(f"{label} pulls, {size} MB", results(pulls, "pulls/s"))))
    memory(f"fleet pull {size} MB")
    if size == args.mix_size:
        mixed = in_rounds(targets, rounds, lambda target, number: fleet.mix(target, args.mix_operations, number))
        step = f"{fleet.clients} x {args.mix_operations * rounds} ops, 75/25 pull/push, {size} MB"
        comparisons.append(announce(Comparison(step, results(mixed, "ops/s"))))
        memory(f"fleet mix {size} MB")
    return comparisons


def announce(comparison: Comparison) -> Comparison:
    parts = [f"{label} {r.value:.1f} {r.unit} ({r.cpu_ms} ms CPU each)" for label, r in comparison.results.items()]
    ratio = comparison.ratio()
    print(f"  {comparison.step}: " + ", ".join(parts) + (f" -> {ratio:.2f}x" if ratio is not None else ""), flush=True)
    return comparison


def print_comparisons(comparisons: list[Comparison]) -> None:
    print(
        f"\n{'step':<52} {'Wharf':>13} {'reference':>13} {'ratio':>6}  {'CPU ms/req or image, Wharf / ref':>32}  notes"
    )
    for comparison in comparisons:
        wharf, reference = comparison.results.get("Wharf"), comparison.results.get("reference")
        ratio = comparison.ratio()
        cells = [f"{r.value:>9.1f}" if r else f"{'':>9}" for r in (wharf, reference)]
        first = wharf or reference
        unit = first.unit if first is not None else ""
        cpu = " / ".join(f"{r.cpu_ms}" for r in (wharf, reference) if r)
        notes = "; ".join(
            f"{label}: " + ", ".join(f"{k}={v}" for k, v in r.extra.items()) for label, r in comparison.results.items()
        )
        ratio_text = f"{ratio:.2f}" if ratio is not None else ""
        print(f"{comparison.step:<52} {cells[0]} {unit:<4}{cells[1]:>13}{ratio_text:>7}  {cpu:>32}  {notes}")
