"""Celery workers the end-to-end tests start: a real ``celery worker`` process on a private Redis
queue (the storm, webhook and multi-node tests), and the clean-up of that queue afterwards."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery import Celery

from tests.e2e.conftest import ROOT


@dataclass
class CeleryProcess:
    process: subprocess.Popen[bytes]
    log: Path


def start_worker(log: Path, env: dict[str, str], queue: str, name: str) -> CeleryProcess:
    """A solo-pool worker consuming ``queue`` only, named ``name``, logging to ``log``."""
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [str(ROOT / ".venv/bin/celery"), "-A", "registry_site", "worker", "--pool=solo", "-Q", queue,
             "-n", f"{name}@%h", "--loglevel=INFO", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    return CeleryProcess(process, log)


def wait_ready(worker: CeleryProcess, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while "ready." not in worker.log.read_text(errors="replace"):
        if worker.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"Celery worker did not start:\n{worker.log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


def stop_worker(worker: CeleryProcess) -> None:
    if worker.process.poll() is None:
        os.killpg(worker.process.pid, signal.SIGTERM)
    try:
        worker.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(worker.process.pid, signal.SIGKILL)
        worker.process.wait()


@contextlib.contextmanager
def celery_worker(log: Path, env: dict[str, str], queue: str) -> Iterator[CeleryProcess]:
    """One worker on ``queue``, ready; stopped afterwards."""
    worker = start_worker(log, env, queue, queue)
    try:
        wait_ready(worker)
        yield worker
    finally:
        stop_worker(worker)


def drop_queue(broker: str, queue: str) -> None:
    """Remove what is left in ``queue`` (the broker's Redis list), so no later run sees it."""
    app = Celery("e2e-cleanup", broker=broker)
    with app.connection_for_write() as conn:
        channel: Any = conn.default_channel  # kombu's Redis channel; typed as the abstract StdChannel
        channel.client.delete(queue)
    app.close()
