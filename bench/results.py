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
        print_memory(memory)


def print_memory(memory: dict[str, dict[str, float]]) -> None:
    """Peaks in MiB: the tree's sum (RSS counts shared pages once per process, PSS divides them) and
    the largest worker by RSS, PSS and USS (README "Memory"). Older results have no PSS: shown as -."""
    heads = ("sum RSS", "sum PSS", "worker RSS", "PSS", "USS")
    print(f"\n{'server memory during (peak MiB)':<48}" + "".join(f"{h:>11}" for h in heads))
    keys = ("peak_total_mib", "peak_total_pss_mib", "peak_worker_mib", "peak_worker_pss_mib", "peak_worker_uss_mib")
    for phase, peaks in memory.items():
        cells = (f"{peaks[k]:.1f}" if k in peaks else "-" for k in keys)
        print(f"{phase:<48}" + "".join(f"{c:>11}" for c in cells))


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
