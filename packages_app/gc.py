"""Online garbage collection (issue 6, issue 14; REGISTRY.md
"Background work").

Garbage collection runs while pushes and pulls go on, and its cost follows what changed since the last
run, not the size of the registry (GitLab's online GC is the model). Database triggers (migration 0010)
queue a blob for review (``BlobReview``) when it is stored, when a manifest stops referring to it and
when a repository link to it goes; a HEAD of a queued blob pushes its review forward. One run:

1. finishes the byte deletions a killed worker left (``StoreDeletion``);
2. deletes the manifests the package's retention rules delete (``packages_app.retention``; no rules:
   none), whose blobs are reviewed at once;
3. reviews the queued blobs whose grace period (``WHARF_GC_GRACE_SECONDS``, at least the upload
   timeout) is over, one short transaction each: the queue row is taken ``FOR UPDATE SKIP LOCKED``
   (two workers never take the same one), the blob and its links are locked without waiting (a row a
   push holds is left for the next run), references are checked under those locks, and the rows go
   with a ``StoreDeletion`` record of their bytes in the same transaction. The bytes are deleted after
   the commit; a worker killed at any point leaves either the queue row or the record, never half.

``services.manifests.manifest_put`` locks the links and child manifests it relies on, so a manifest either
commits before the collector looks (the check sees it) or finds its blob gone (MANIFEST_BLOB_UNKNOWN:
the client uploads it again). Keys are unique per upload (``packages_app.storage``), so deleting a
collected blob's key never touches bytes another row owns. Bytes no row points at (a crash between a
commit and a delete) are the orphan sweep's (``packages_app.sweep``): rare, paged and resumable.

What else keeps the store clean: ``purge.purge_deleted`` (deleted packages and versions, for good: rows
only, whose blobs the triggers queue for this collector) and ``storage_check.storage_check`` (reads
only: bytes without rows, rows without bytes, digests that do not verify).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import OperationalError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import Blob, BlobReview, Manifest, Package, PackageBlob, StoreDeletion, Tag
from .progress import Progress, silent
from .retention import Planned, retention_plan
from .reviews import gc_grace_seconds
from .storage import BlobStore, blob_store

_BlobManifests = Manifest.blobs.through
_Children = Manifest.children.through


class _Skip(Exception):
    """A candidate that is in use after all (found by the re-check): its transaction rolls back."""


@dataclass
class GcReport:
    manifests: list[str] = field(default_factory=list)  # "package@digest"
    blobs: list[str] = field(default_factory=list)
    bytes_freed: int = 0
    skipped: int = 0  # candidates in use by a push at that moment, or referenced after all


def garbage_collect(
    *,
    dry_run: bool = False,
    grace_seconds: int | None = None,
    store: BlobStore | None = None,
    progress: Progress | None = None,
) -> GcReport:
    """One collection. ``grace_seconds`` overrides the setting, within the floor ``gc_grace_seconds``
    keeps; a dry run removes nothing and reports what would go and the bytes it would free."""
    store = store or blob_store()
    say = progress or silent
    grace = gc_grace_seconds(grace_seconds)
    now = timezone.now()
    cutoff = now - timedelta(seconds=grace)
    report = GcReport()
    if not dry_run:
        _finish_store_deletions(store, say)
    doomed = _collect_manifests(report, now, grace, dry_run, say)
    _collect_blobs(report, cutoff, doomed, store, dry_run, say)
    verb = "would free" if dry_run else "freed"
    say(
        f"{len(report.manifests)} manifest(s), {len(report.blobs)} blob(s); "
        f"{verb} {report.bytes_freed} bytes; {report.skipped} skipped (in use)"
    )
    return report


# --- manifests (retention) -----------------------------------------------------------------------


def _collect_manifests(report: GcReport, now: datetime, grace: int, dry_run: bool, say: Progress) -> _Doomed:
    doomed = _Doomed()
    for package in Package.objects.filter(retention_rules__enabled=True).distinct():
        plan = list(retention_plan(package=package, now=now, grace_seconds=grace))
        uses = _blobs_of([planned.id for planned in plan])
        for planned in plan:
            label = f"{package.name}@{planned.digest}"
            if dry_run or _delete_manifest(planned, {p.id for p in plan}):
                doomed.manifests.add(planned.id)
                doomed.blobs.update(uses.get(planned.id, ()))
                report.manifests.append(label)
                say(f"{'would delete' if dry_run else 'deleted'} manifest {label} ({planned.reason})")
            else:
                report.skipped += 1
    return doomed


@dataclass
class _Doomed:
    """What retention deleted this run (a dry run: would delete): its blobs are reviewed at once."""

    manifests: set[int] = field(default_factory=set)
    blobs: set[int] = field(default_factory=set)


def _blobs_of(manifest_ids: list[int]) -> dict[int, set[int]]:
    uses: dict[int, set[int]] = {}
    for manifest_id, blob_id in _BlobManifests.objects.filter(manifest_id__in=manifest_ids).values_list(
        "manifest_id", "blob_id"
    ):
        uses.setdefault(manifest_id, set()).add(blob_id)
    return uses


def _delete_manifest(planned: Planned, plan_ids: Collection[int]) -> bool:
    """Delete one planned manifest if, with its row locked, it is still what the plan saw."""
    try:
        with transaction.atomic():
            manifest = Manifest.objects.select_for_update(nowait=True).filter(id=planned.id).first()
            if manifest is None or not _still_doomed(manifest, planned, plan_ids):
                raise _Skip
            manifest.delete()  # its tags and its links to blobs and children go with it
    except (_Skip, OperationalError):
        return False
    return True


def _still_doomed(manifest: Manifest, planned: Planned, plan_ids: Collection[int]) -> bool:
    """Re-check under the lock: no tag moved onto it, no kept index took it as a platform image, and
    its subject (if it is a referrer) is not a kept manifest."""
    tags = Tag.objects.filter(manifest=manifest)
    if tuple(sorted(tags.values_list("name", flat=True))) != planned.tags:
        return False
    if planned.tagged_at and tags.filter(updated_at__gt=planned.tagged_at).exists():  # pushed again
        return False
    if _Children.objects.filter(to_manifest=manifest).exists():  # its doomed parents were deleted first
        return False
    subject = Manifest.objects.filter(package_id=manifest.package_id, digest=manifest.subject_digest).first()
    return subject is None or not manifest.subject_digest or subject.id in plan_ids


# --- blobs: the review queue ---------------------------------------------------------------------


def _due(cutoff: datetime, also: Collection[int], passed: Collection[int]) -> QuerySet[BlobReview]:
    """Queued blobs whose grace period is over (or that the manifests retention just deleted used),
    oldest first, without the ones this run already found busy."""
    due = BlobReview.objects.filter(Q(queued_at__lt=cutoff) | Q(blob_id__in=list(also)))
    return due.exclude(blob_id__in=list(passed)).order_by("queued_at")


def _collect_blobs(
    report: GcReport, cutoff: datetime, doomed: _Doomed, store: BlobStore, dry_run: bool, say: Progress
) -> None:
    if dry_run:
        return _list_blobs(report, cutoff, doomed, say)
    also, passed = set(doomed.blobs), list[int]()
    while (outcome := _review_next(cutoff, also, passed)) is not None:
        blob_id, blob = outcome
        also.discard(blob_id)  # reviewed: once a run (a postponed one is due later, not now)
        if blob is None:
            continue
        if blob is _BUSY:
            passed.append(blob_id)
            report.skipped += 1
            continue
        _finish_deletion(store, blob.storage_key)
        report.blobs.append(blob.digest)
        report.bytes_freed += blob.size
        say(f"deleted blob {blob.digest} ({blob.size} bytes)")
    return None


_BUSY = Blob()  # the review found the blob or one of its links locked by a push: next run


def _review_next(cutoff: datetime, also: Collection[int], passed: list[int]) -> tuple[int, Blob | None] | None:
    """Take one due review (``FOR UPDATE SKIP LOCKED``: two workers never take the same one) and
    decide it in the same transaction; the collected blob, None if it stays, or ``_BUSY``."""
    with transaction.atomic():
        review = _due(cutoff, also, passed).select_for_update(skip_locked=True).first()
        if review is None:
            return None
        try:
            with transaction.atomic():  # a savepoint: a row a push holds fails only this part
                blob = Blob.objects.select_for_update(nowait=True).filter(id=review.blob_id).first()
                links = list(PackageBlob.objects.select_for_update(nowait=True).filter(blob_id=review.blob_id))
        except OperationalError:
            return review.blob_id, _BUSY
        return review.blob_id, _decide(review, blob, links, cutoff)


def _decide(review: BlobReview, blob: Blob | None, links: list[PackageBlob], cutoff: datetime) -> Blob | None:
    """With the blob and its links locked: a referenced (or vanished) blob leaves the queue until a
    reference goes again; a blob uploaded or mounted within the grace period is due a grace period
    after that; anything else goes, its bytes recorded for deletion in the same transaction."""
    if blob is None or _BlobManifests.objects.filter(blob_id=blob.id).exists():
        review.delete()
        return None
    newest = max([blob.created_at, *(link.created_at for link in links)])
    if newest >= cutoff:
        BlobReview.objects.filter(blob_id=blob.id).update(queued_at=newest)
        return None
    for rows in (
        PackageBlob.objects.filter(blob_id=blob.id),
        Blob.objects.filter(id=blob.id),
        BlobReview.objects.filter(blob_id=blob.id),  # after the link trigger queued it again
    ):
        rows._raw_delete(rows.db)  # one DELETE each: the references were checked under the locks
    if not Blob.objects.filter(storage_key=blob.storage_key).exists():
        # A key from before per-upload keys (content-addressed) may still be named by a sha512 row.
        StoreDeletion.objects.bulk_create([StoreDeletion(storage_key=blob.storage_key)], ignore_conflicts=True)
    return blob


def _finish_deletion(store: BlobStore, key: str) -> None:
    """Delete the bytes of a committed collection, then its record (deleting twice is harmless)."""
    store.delete(key)
    done = StoreDeletion.objects.filter(storage_key=key)
    done._raw_delete(done.db)


def _finish_store_deletions(store: BlobStore, say: Progress) -> None:
    """Bytes a killed worker's collection committed but did not get to delete."""
    while True:
        with transaction.atomic():
            pending = list(StoreDeletion.objects.select_for_update(skip_locked=True).order_by("id")[:100])
            for row in pending:
                store.delete(row.storage_key)
                row.delete()
                say(f"deleted stored key {row.storage_key} (left by an interrupted collection)")
        if len(pending) < 100:
            return


def _list_blobs(report: GcReport, cutoff: datetime, doomed: _Doomed, say: Progress) -> None:
    """A dry run: what the reviews due now would collect (ignoring the references of the manifests
    retention would delete), locking and changing nothing."""
    for review in _due(cutoff, doomed.blobs, ()).iterator(chunk_size=500):
        blob = Blob.objects.filter(id=review.blob_id).first()
        users = _BlobManifests.objects.filter(blob_id=review.blob_id).exclude(manifest_id__in=doomed.manifests)
        if blob is None or users.exists():
            continue
        links = PackageBlob.objects.filter(blob_id=blob.id, created_at__gte=cutoff)
        if blob.created_at >= cutoff or links.exists():
            continue
        report.blobs.append(blob.digest)
        report.bytes_freed += blob.size
        say(f"would delete blob {blob.digest} ({blob.size} bytes)")
