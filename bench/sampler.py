"""Memory and CPU of the server's process tree, read from /proc: the RSS sampler of a step's peaks."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from client import MiB


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
