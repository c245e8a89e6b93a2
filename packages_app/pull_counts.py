"""Pull counts (manifest GETs per version and day), counted in memory and written in batches.

A synchronous ``UPDATE ... SET count = count + 1`` on every manifest GET made the row of a popular
version a lock queue and cost a third of a pull's database time. Instead each process tallies pulls
in memory and adds the tally to ``DownloadCount`` with one upsert per batch:

* the first pull after ``WHARF_PULL_COUNT_FLUSH_SECONDS`` have passed since the last write writes the
  batch itself (under any server, with no thread of its own);
* gunicorn workers also run a flusher thread (``start_flusher``, from ``registry_site/gunicorn.conf.py``)
  so a worker that stops receiving pulls still writes what it counted, and flush once more on exit.

What this trades: a process that dies without exiting (SIGKILL, power loss) loses the pulls it counted
in its last ``WHARF_PULL_COUNT_FLUSH_SECONDS`` (5 s by default); the pages and the delete limits see a
pull that long after it happened. ``0`` writes every pull at once, as before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from datetime import date

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from .models import DownloadCount, Manifest

log = logging.getLogger(__name__)

_lock = threading.Lock()
_pending: Counter[tuple[int, date]] = Counter()
_last_write = time.monotonic()


def record(*, manifest_id: int) -> None:
    """Count one pull of a manifest today; write the batch if it is due."""
    global _last_write
    now = time.monotonic()
    with _lock:
        _pending[(manifest_id, timezone.localdate())] += 1
        due = now - _last_write >= settings.WHARF_PULL_COUNT_FLUSH_SECONDS
        if due:
            _last_write = now
    if due:
        flush()


def flush() -> int:
    """Write every pull counted so far in this process; returns how many were written."""
    with _lock:
        batch = dict(_pending)
        _pending.clear()
    if not batch:
        return 0
    try:
        _write(batch)
    except DatabaseError:
        log.exception("could not write %d pull counts; they are kept for the next batch", sum(batch.values()))
        with _lock:
            _pending.update(batch)
        return 0
    return sum(batch.values())


def pending() -> int:
    """Pulls counted but not yet written (tests, diagnostics)."""
    with _lock:
        return sum(_pending.values())


def discard() -> None:
    """Forget what was counted and not written (tests: counts of a rolled-back database)."""
    with _lock:
        _pending.clear()


def _write(batch: dict[tuple[int, date], int]) -> None:
    """One statement adding each tally to its (manifest, day) row. The join skips versions removed since
    they were pulled (a VALUES list names its columns column1..3 in PostgreSQL and SQLite alike;
    ``WHERE true`` tells SQLite's parser that ON CONFLICT belongs to the INSERT)."""
    counts, manifests = DownloadCount._meta.db_table, Manifest._meta.db_table
    values = ", ".join(["(%s, %s, %s)"] * len(batch))
    statement = (
        f'INSERT INTO "{counts}" ("manifest_id", "day", "count") '  # noqa: S608 - table names from the models; values are parameters and placeholders
        f"SELECT v.column1, v.column2, v.column3 FROM (VALUES {values}) AS v "
        f'JOIN "{manifests}" AS m ON m."id" = v.column1 WHERE true '
        f'ON CONFLICT ("manifest_id", "day") DO UPDATE SET "count" = "{counts}"."count" + excluded."count"'
    )
    params = [value for (manifest_id, day), count in batch.items() for value in (manifest_id, day, count)]
    with connection.cursor() as cursor:  # one statement: atomic by itself
        cursor.execute(statement, params)


class _Flusher(threading.Thread):
    def __init__(self, interval: float) -> None:
        super().__init__(name="wharf-pull-counts", daemon=True)
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            close_old_connections()
            flush()


_flusher: _Flusher | None = None


def start_flusher() -> None:
    """Write pending counts every ``WHARF_PULL_COUNT_FLUSH_SECONDS`` from a thread of this process."""
    global _flusher
    interval = float(settings.WHARF_PULL_COUNT_FLUSH_SECONDS)
    if interval > 0 and _flusher is None:
        _flusher = _Flusher(interval)
        _flusher.start()


def stop_flusher() -> None:
    """Stop the thread and write what is left (a worker's exit)."""
    global _flusher
    if _flusher is not None:
        _flusher.stopped.set()
        _flusher = None
    flush()
