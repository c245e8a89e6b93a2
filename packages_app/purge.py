"""Deleted packages and versions, removed for good once they can no longer be restored (issue 6,
"Deleted packages"; REGISTRY.md "Deleting"): ``purge_deleted``, the daily task and ``manage.py
purge_deleted``.

It deletes rows only, each package or version in a short transaction of its own that takes the row
without waiting (a push or a restore that holds it wins; next run). The blobs they alone used are
queued for review by the database triggers and collected by a later ``gc.garbage_collect``, under its
locks and grace period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from django.db import OperationalError, transaction

from .models import Manifest, Package, deleted_cutoff
from .progress import Progress, silent

_Children = Manifest.children.through


class _Skip(Exception):
    """A row that is no longer to be purged, found under its lock: its transaction rolls back."""


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
    say = progress or silent
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
        label = f"{package.name} (deleted {cast(datetime, package.deleted_at):%Y-%m-%d})"  # the filter says so
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
        label = f"{manifest.package.name}@{manifest.digest}"
        if _has_staying_parent(manifest.id, cutoff):
            report.skipped += 1
            say(f"kept deleted manifest {label}: a platform image of a version that is not purged")
        elif dry_run or _purge_manifest(manifest.id, cutoff):
            report.manifests.append(label)
            verb = "would remove" if dry_run else "removed"
            say(f"{verb} deleted manifest {label} (deleted {cast(datetime, manifest.deleted_at):%Y-%m-%d})")
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
