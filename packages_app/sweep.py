"""The orphan sweep: stored bytes no ``Blob`` row points at and no upload session owns (left by a
process that died between committing bytes and writing their row, or between deleting a row and its
bytes before ``StoreDeletion`` existed).

It is not part of garbage collection's every run: listing a large store is the expensive part (an S3
ListObjects of every key). The sweep pages through the store's keys in order, a page at a time, with
its place saved in ``StoreSweep`` after each page, so a sweep that was stopped resumes where it was;
it pauses between pages to stay under ``WHARF_GC_SWEEP_KEYS_PER_SECOND`` and runs every
``WHARF_GC_SWEEP_INTERVAL_SECONDS`` (a week by default). One sweeper at a time: the place is locked
``FOR UPDATE SKIP LOCKED`` while a page is handled, and a second sweeper finds it taken and stops.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import Blob, StoreSweep, Upload
from .progress import Progress, silent
from .storage import BlobStore, blob_store, upload_id_of


@dataclass
class SweepReport:
    orphan_keys: list[str] = field(default_factory=list)
    keys_seen: int = 0
    pages: int = 0
    finished: bool = False  # the listing reached its end (the next sweep starts from the beginning)
    busy: bool = False  # another sweeper holds the place


def orphans_among(keys: Iterable[str]) -> list[str]:
    """The keys among ``keys`` no upload in progress owns and no row points at, in two queries.

    Sessions are looked up *before* rows: a session is closed in the same transaction that creates its
    row, so a key whose session is gone already has its row (or was a duplicate)."""
    keys = list(keys)
    sessions = {str(u) for u in Upload.objects.filter(id__in=_upload_ids(keys)).values_list("id", flat=True)}
    unowned = [key for key in keys if upload_id_of(key) not in sessions]
    rows = set(Blob.objects.filter(storage_key__in=unowned).values_list("storage_key", flat=True))
    return [key for key in unowned if key not in rows]


def _upload_ids(keys: list[str]) -> list[uuid.UUID]:
    ids = []
    for key in keys:
        try:
            ids.append(uuid.UUID(upload_id_of(key)))
        except ValueError:
            continue
    return ids


def orphan_keys(*, store: BlobStore, page_size: int = 1000) -> Iterator[str]:
    """Every orphan key of the store, listing all of it (the consistency check; reads only)."""
    keys = store.stored_keys()
    while page := list(islice(keys, page_size)):
        yield from orphans_among(page)


def sweep_orphans(
    *,
    store: BlobStore | None = None,
    page_size: int = 1000,
    max_pages: int | None = None,
    keys_per_second: float | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> SweepReport:
    """Delete orphan keys, ``page_size`` keys at a time from where the last sweep stopped, for at most
    ``max_pages`` pages (None: to the end of the listing)."""
    store = store or blob_store()
    say = progress or silent
    rate = settings.WHARF_GC_SWEEP_KEYS_PER_SECOND if keys_per_second is None else keys_per_second
    report = SweepReport()
    StoreSweep.objects.get_or_create(id=1)
    while max_pages is None or report.pages < max_pages:
        started = time.monotonic()
        if not _sweep_page(store, page_size, dry_run, report, say):
            break
        _pause(started, page_size, rate)
    return report


def _pause(started: float, page_size: int, rate: float) -> None:
    if rate > 0:
        time.sleep(max(0.0, page_size / rate - (time.monotonic() - started)))


def _sweep_page(store: BlobStore, page_size: int, dry_run: bool, report: SweepReport, say: Progress) -> bool:
    """One page under the locked place; False when the listing ended or another sweeper holds it."""
    with transaction.atomic():
        place = StoreSweep.objects.select_for_update(skip_locked=True).filter(id=1).first()
        if place is None:
            report.busy = True
            return False
        if not place.after_key:
            place.started_at, place.keys_seen, place.orphans_deleted = timezone.now(), 0, 0
        page = list(islice(store.stored_keys(after=place.after_key), page_size))
        for key in orphans_among(page):
            if not dry_run:
                store.delete(key)
            report.orphan_keys.append(key)
            say(f"{'would delete' if dry_run else 'deleted'} stored key {key} (no row, no upload)")
        report.pages += 1
        report.keys_seen += len(page)
        report.finished = len(page) < page_size
        if not dry_run:
            _advance(place, page, report)
    return not report.finished


def _advance(place: StoreSweep, page: list[str], report: SweepReport) -> None:
    place.keys_seen += len(page)
    place.orphans_deleted += len(report.orphan_keys)
    place.after_key = "" if report.finished else page[-1]
    if report.finished:
        place.finished_at = timezone.now()
    place.save()
