"""What every step of a run shares: the server and its memory sampler, the work directory, and the
results so far (each printed as it is added)."""

from __future__ import annotations

import argparse
import http.client
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from client import MiB, call
from sampler import MemorySampler
from server import Server


@dataclass
class Row:
    """One line of the results table."""

    step: str
    value: float
    unit: str
    ratio: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Bench:
    """The state of one run: ``throughput.throughput`` and ``rates.rates`` add their rows to it."""

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
