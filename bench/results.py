"""The results of a run: the printed table and ``bench/results/<timestamp>.json``."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from server import REPO
from steps import Bench, Row


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
