"""Memory and CPU of the server's process tree, read from /proc: the memory sampler of a step's peaks.

RSS counts every page a process maps, shared ones too: with gunicorn's ``preload_app`` the imported
application lives in pages the master shares copy-on-write with its workers, and each worker's RSS
counts all of them. PSS divides each shared page among the processes that map it (the sum over the
tree is what the tree costs); USS counts only the pages a process alone holds (what killing it frees).
Both come from /proc/PID/smaps_rollup."""

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


def rollup_bytes(pid: int) -> tuple[int, int, int]:
    """(RSS, PSS, USS) of ``pid`` from /proc/PID/smaps_rollup; zeros if it has gone."""
    fields: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
            name, value, *_ = line.split()
            fields[name] = int(value) * 1024
    uss = fields.get("Private_Clean:", 0) + fields.get("Private_Dirty:", 0)
    return fields.get("Rss:", 0), fields.get("Pss:", 0), uss


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of ``pids`` (all their threads)."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


class MemorySampler(threading.Thread):
    """Samples the RSS, PSS and USS of gunicorn's master and workers every 100 ms; keeps the peaks of
    a phase (each one's own peak: the worker with the highest RSS need not have the highest PSS)."""

    def __init__(self, master: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.master, self.interval = master, interval
        self.stopped = threading.Event()
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.peak_total = self.peak_worker = self.samples = 0
            self.peak_total_pss = self.peak_worker_pss = self.peak_worker_uss = 0

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            master = rollup_bytes(self.master)
            workers = [rollup_bytes(pid) for pid in children(self.master)]
            with self.lock:
                self.peak_total = max(self.peak_total, master[0] + sum(w[0] for w in workers))
                self.peak_total_pss = max(self.peak_total_pss, master[1] + sum(w[1] for w in workers))
                self.peak_worker = max([self.peak_worker, *(w[0] for w in workers)])
                self.peak_worker_pss = max([self.peak_worker_pss, *(w[1] for w in workers)])
                self.peak_worker_uss = max([self.peak_worker_uss, *(w[2] for w in workers)])
                self.samples += 1

    def peaks(self) -> dict[str, float]:
        with self.lock:
            return {
                "peak_total_mib": round(self.peak_total / MiB, 1),
                "peak_worker_mib": round(self.peak_worker / MiB, 1),
                "peak_total_pss_mib": round(self.peak_total_pss / MiB, 1),
                "peak_worker_pss_mib": round(self.peak_worker_pss / MiB, 1),
                "peak_worker_uss_mib": round(self.peak_worker_uss / MiB, 1),
                "samples": self.samples,
            }
