"""Online garbage collection and the storage consistency check (issue 6; REGISTRY.md "Background work").

Garbage collection runs while pushes and pulls go on. It removes, in this order:

1. manifests the package's retention rules delete (``packages_app.retention``; no rules: none);
2. blobs no manifest of any package refers to, when the blob and each of its repository links are
   older than the grace period (``WHARF_GC_GRACE_SECONDS``, at least the upload timeout);
3. stored bytes no row points at and no upload session owns (left by a crash between a commit
   and a delete).

Each removal is its own short transaction that locks its rows without waiting (a row a push holds
is simply skipped this round), re-checks the references *after* taking the locks, and deletes the
stored bytes only after the rows are gone and committed. ``services.manifest_put`` locks the links
and child manifests it relies on, so a manifest either commits before the collector looks (and the
re-check sees it) or finds its blob gone (MANIFEST_BLOB_UNKNOWN: the client uploads it again).
Keys are unique per upload (``packages_app.storage``), so deleting a collected blob's key never
touches bytes another row owns.

``purge_deleted`` (daily, its own task) removes for good the packages and versions deleted more than
``WHARF_DELETED_RETENTION_DAYS`` ago. It deletes rows only: the blobs they alone used become ordinary
garbage for the next collection, which removes them as above.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from .models import Blob, Manifest, Package, PackageBlob, Tag, Upload, deleted_cutoff
from .retention import Planned, retention_plan
from .storage import BlobStore, blob_store, upload_id_of
from .upload_expiry import leaked_upload_areas

Progress = Callable[[str], None]
_BlobManifests = Manifest.blobs.through
_Children = Manifest.children.through


class _Skip(Exception):
    """A candidate that is in use after all (found by the re-check): its transaction rolls back."""


@dataclass
class GcReport:
    manifests: list[str] = field(default_factory=list)  # "package@digest"
    blobs: list[str] = field(default_factory=list)
    orphan_keys: list[str] = field(default_factory=list)
    bytes_freed: int = 0
    skipped: int = 0  # candidates in use by a push at that moment, or referenced after all


def gc_grace_seconds(requested: int | None = None) -> int:
    """The grace period: ``requested`` (an operator's override) or WHARF_GC_GRACE_SECONDS, never less
    than the upload timeout, whoever asks: a shorter one could collect the finished layers of a push
    whose manifest has not arrived yet."""
    wanted = settings.WHARF_GC_GRACE_SECONDS if requested is None else requested
    return max(wanted, settings.WHARF_UPLOAD_TIMEOUT)


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
    say = progress or (lambda line: None)
    grace = gc_grace_seconds(grace_seconds)
    now = timezone.now()
    cutoff = now - timedelta(seconds=grace)
    report = GcReport()
    doomed = _collect_manifests(report, now, grace, dry_run, say)
    _collect_blobs(report, cutoff, doomed if dry_run else (), store, dry_run, say)
    _collect_orphans(report, store, dry_run, say)
    verb = "would free" if dry_run else "freed"
    say(
        f"{len(report.manifests)} manifest(s), {len(report.blobs)} blob(s), {len(report.orphan_keys)} orphan key(s); "
        f"{verb} {report.bytes_freed} bytes; {report.skipped} skipped (in use)"
    )
    return report


# --- manifests (retention) -----------------------------------------------------------------------


def _collect_manifests(report: GcReport, now: datetime, grace: int, dry_run: bool, say: Progress) -> set[int]:
    doomed: set[int] = set()
    for package in Package.objects.filter(retention_rules__enabled=True).distinct():
        plan = retention_plan(package=package, now=now, grace_seconds=grace)
        for planned in plan:
            label = f"{package.name}@{planned.digest}"
            if dry_run or _delete_manifest(planned, {p.id for p in plan}):
                doomed.add(planned.id)
                report.manifests.append(label)
                say(f"{'would delete' if dry_run else 'deleted'} manifest {label} ({planned.reason})")
            else:
                report.skipped += 1
    return doomed


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


# --- blobs ---------------------------------------------------------------------------------------


def blob_candidates(*, cutoff: datetime, ignoring_manifests: Collection[int] = ()) -> Iterator[Blob]:
    """Blobs older than ``cutoff`` that no manifest refers to and no link younger than ``cutoff`` holds."""
    referenced = _BlobManifests.objects.filter(blob_id=OuterRef("pk")).exclude(manifest_id__in=list(ignoring_manifests))
    fresh_link = PackageBlob.objects.filter(blob_id=OuterRef("pk"), created_at__gte=cutoff)
    candidates = Blob.objects.filter(created_at__lt=cutoff).filter(~Exists(referenced), ~Exists(fresh_link))
    return candidates.order_by("id").iterator(chunk_size=500)


def _collect_blobs(
    report: GcReport, cutoff: datetime, ignoring: Collection[int], store: BlobStore, dry_run: bool, say: Progress
) -> None:
    for blob in blob_candidates(cutoff=cutoff, ignoring_manifests=ignoring):
        if not dry_run and not _delete_blob(blob.id, cutoff, store):
            report.skipped += 1
            continue
        report.blobs.append(blob.digest)
        report.bytes_freed += blob.size
        say(f"{'would delete' if dry_run else 'deleted'} blob {blob.digest} ({blob.size} bytes)")


def _delete_blob(blob_id: int, cutoff: datetime, store: BlobStore) -> bool:
    """(a) lock the blob and its links without waiting, (b) delete the links, (c) re-check that no
    manifest refers to it and no link is young, (d) delete the row; only after the commit, the bytes."""
    try:
        with transaction.atomic():
            blob = Blob.objects.select_for_update(nowait=True).filter(id=blob_id, created_at__lt=cutoff).first()
            links = list(PackageBlob.objects.select_for_update(nowait=True).filter(blob_id=blob_id))
            if blob is None or any(link.created_at >= cutoff for link in links):
                raise _Skip
            PackageBlob.objects.filter(blob_id=blob_id).delete()
            if _BlobManifests.objects.filter(blob_id=blob_id).exists():
                raise _Skip
            Blob.objects.filter(id=blob_id).delete()
    except (_Skip, OperationalError):
        return False
    _delete_bytes(store, blob.storage_key)
    return True


def _delete_bytes(store: BlobStore, key: str) -> None:
    """Keys are unique per upload; a key from before that change (content-addressed, possibly shared
    by a sha256 and a sha512 row) is kept while any row still names it."""
    if not Blob.objects.filter(storage_key=key).exists():
        store.delete(key)


# --- deleted packages and versions, for good ------------------------------------------------------


@dataclass
class PurgeReport:
    packages: list[str] = field(default_factory=list)  # names
    manifests: list[str] = field(default_factory=list)  # "package@digest"
    skipped: int = 0  # locked by a push at that moment, or a platform image of a version that stays


def purge_deleted(
    *, now: datetime | None = None, dry_run: bool = False, progress: Progress | None = None
) -> PurgeReport:
    """Remove for good what was deleted before ``deleted_cutoff(now)`` and so can no longer be restored
    (issue 6, "Deleted packages"; REGISTRY.md "Deleting").

    A package goes with everything that hangs off it: versions, tags, download counts, its links to
    blobs, access grants, retention rules. Its audit log stays (the events keep its name and namespace),
    so an organization can still see who deleted what. A deleted version of a package that is not itself
    purged goes on its own. Blobs are left alone: with their rows gone, those no other version uses are
    collected by the next ``garbage_collect``, under its locks and grace period."""
    say = progress or (lambda line: None)
    cutoff = deleted_cutoff(now)
    report = PurgeReport()
    _purge_packages(report, cutoff, dry_run, say)
    _purge_manifests(report, cutoff, dry_run, say)
    verb = "would remove" if dry_run else "removed"
    say(
        f"{verb} {len(report.packages)} package(s) and {len(report.manifests)} deleted manifest(s) for good; "
        f"{report.skipped} skipped; blobs only they used go with the next garbage collection"
    )
    return report


def _purge_packages(report: PurgeReport, cutoff: datetime, dry_run: bool, say: Progress) -> None:
    expired = Package.all_objects.filter(deleted_at__lt=cutoff).order_by("deleted_at", "id")
    for package in expired.iterator(chunk_size=100):
        assert package.deleted_at is not None  # for mypy: the filter says so
        label = f"{package.name} (deleted {package.deleted_at:%Y-%m-%d})"
        if not dry_run and not _purge_package(package.id, cutoff):
            report.skipped += 1
            say(f"skipped package {label}: in use, next time")
            continue
        report.packages.append(package.name)
        say(f"{'would remove' if dry_run else 'removed'} package {label}")


def _purge_package(package_id: int, cutoff: datetime) -> bool:
    """Delete one package's rows if, with its row locked, it is still deleted before ``cutoff`` (a
    restore at the very last moment wins)."""
    try:
        with transaction.atomic():
            locked = Package.all_objects.select_for_update(nowait=True).filter(id=package_id, deleted_at__lt=cutoff)
            if not list(locked.values_list("id", flat=True)):
                raise _Skip
            Package.all_objects.filter(id=package_id).delete()  # cascades; AuditEvent.package is SET_NULL
    except (_Skip, OperationalError):
        return False
    return True


def _purge_manifests(report: PurgeReport, cutoff: datetime, dry_run: bool, say: Progress) -> None:
    expired = (
        Manifest.objects.filter(deleted_at__lt=cutoff)
        .exclude(package__deleted_at__lt=cutoff)  # those go with their package
        .select_related("package")
        .defer("content")
        .order_by("deleted_at", "id")
    )
    for manifest in expired.iterator(chunk_size=500):
        assert manifest.deleted_at is not None
        label = f"{manifest.package.name}@{manifest.digest}"
        if _has_staying_parent(manifest.id, cutoff):
            report.skipped += 1
            say(f"kept deleted manifest {label}: a platform image of a version that is not purged")
        elif dry_run or _purge_manifest(manifest.id, cutoff):
            report.manifests.append(label)
            verb = "would remove" if dry_run else "removed"
            say(f"{verb} deleted manifest {label} (deleted {manifest.deleted_at:%Y-%m-%d})")
        else:
            report.skipped += 1
            say(f"skipped deleted manifest {label}: in use, next time")


def _has_staying_parent(manifest_id: int, cutoff: datetime) -> bool:
    """A live (or still restorable) index lists it as a platform image: removing its row would break it."""
    parents = _Children.objects.filter(to_manifest_id=manifest_id)
    return parents.exclude(from_manifest__deleted_at__lt=cutoff).exists()


def _purge_manifest(manifest_id: int, cutoff: datetime) -> bool:
    """Delete one version's row (with its links to blobs and children) if, locked, it is still deleted
    before ``cutoff``: a re-push that made it live again, or holds it, wins."""
    try:
        with transaction.atomic():
            locked = Manifest.objects.select_for_update(nowait=True).filter(id=manifest_id, deleted_at__lt=cutoff)
            if not list(locked.values_list("id", flat=True)) or _has_staying_parent(manifest_id, cutoff):
                raise _Skip
            Manifest.objects.filter(id=manifest_id).delete()  # with its tags, downloads and links
    except (_Skip, OperationalError):
        return False
    return True


# --- stored bytes without rows -------------------------------------------------------------------


def orphan_keys(*, store: BlobStore) -> Iterator[str]:
    """Stored keys no Blob row points at and no upload session in progress owns.

    The session is looked up *before* the row: a session is closed in the same transaction that
    creates its row, so a key whose session is gone already has its row (or was a duplicate).
    """
    for key in store.stored_keys():
        if _has_upload(upload_id_of(key)):
            continue
        if not Blob.objects.filter(storage_key=key).exists():
            yield key


def _has_upload(name: str) -> bool:
    try:
        upload_id = uuid.UUID(name)
    except ValueError:
        return False
    return Upload.objects.filter(id=upload_id).exists()


def _collect_orphans(report: GcReport, store: BlobStore, dry_run: bool, say: Progress) -> None:
    for key in orphan_keys(store=store):
        if not dry_run:
            store.delete(key)
        report.orphan_keys.append(key)
        say(f"{'would delete' if dry_run else 'deleted'} stored key {key} (no row, no upload)")


# --- consistency check ---------------------------------------------------------------------------


@dataclass
class StorageReport:
    orphan_keys: list[str] = field(default_factory=list)  # bytes without rows
    missing: list[str] = field(default_factory=list)  # rows without bytes
    corrupt: list[str] = field(default_factory=list)  # digests that do not verify (--verify)
    leaked_uploads: list[str] = field(default_factory=list)  # upload data no session owns (expiry removes it)

    @property
    def consistent(self) -> bool:
        return not (self.orphan_keys or self.missing or self.corrupt or self.leaked_uploads)


def storage_check(
    *, verify: bool = False, store: BlobStore | None = None, progress: Progress | None = None
) -> StorageReport:
    """Blobs without rows, rows without blobs and (``verify``: re-hashing every blob) digests that do
    not verify. Reads only."""
    store = store or blob_store()
    say = progress or (lambda line: None)
    report = StorageReport(orphan_keys=list(orphan_keys(store=store)))
    for key in report.orphan_keys:
        say(f"stored key without a row: {key}")
    report.leaked_uploads = sorted({area.upload_id for area in leaked_upload_areas(store=store)})
    for upload_id in report.leaked_uploads:
        say(f"upload data without a session: {upload_id} (expire_uploads removes it)")
    for blob in Blob.objects.order_by("id").iterator(chunk_size=500):
        if not store.exists(blob.storage_key):
            if Blob.objects.filter(id=blob.id).exists():  # not collected meanwhile
                report.missing.append(blob.digest)
                say(f"row without bytes: {blob.digest} ({blob.storage_key})")
        elif verify and not _verifies(store, blob):
            report.corrupt.append(blob.digest)
            say(f"digest does not verify: {blob.digest} ({blob.storage_key})")
    return report


def _verifies(store: BlobStore, blob: Blob) -> bool:
    algorithm, _, expected = blob.digest.partition(":")
    hasher, size = hashlib.new(algorithm), 0
    try:
        with store.open(blob.storage_key) as stream:
            while data := stream.read(1 << 20):
                hasher.update(data)
                size += len(data)
    except OSError:
        return not Blob.objects.filter(id=blob.id).exists()
    return hasher.hexdigest() == expected and size == blob.size
