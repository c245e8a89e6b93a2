"""Celery entry points: thin wrappers that load by id and call one service each (scheduled by beat in
``settings.CELERY_BEAT_SCHEDULE``; each also runs as a management command)."""

from __future__ import annotations

from celery import shared_task

from observability import metrics

from . import gc, metadata, purge, sweep, upload_expiry
from .models import Package


@shared_task
def expire_uploads() -> dict[str, int]:
    """Remove upload sessions idle longer than WHARF_UPLOAD_TIMEOUT and upload data no session owns
    (scheduled every minute)."""
    report = upload_expiry.uploads_expire()
    return {"sessions": len(report.sessions), "areas": len(report.areas)}


@shared_task
def extract_metadata(manifest_id: int) -> bool:
    """Labels, platforms and the package's description after a push (enqueued by manifest_put)."""
    return metadata.manifest_extract_metadata(manifest_id=manifest_id) is not None


@shared_task
def refresh_package_metadata(package_id: int) -> bool:
    """The package's description, licenses and source after a version or tag was deleted or restored."""
    package = Package.objects.filter(id=package_id).first()  # a package deleted since: nothing to show
    if package is None:
        return False
    metadata.package_refresh_metadata(package=package)
    return True


@shared_task
def extract_pending_metadata() -> int:
    """Catch up on manifests whose extraction task was lost (a broker that was down, a worker killed)."""
    return metadata.metadata_extract_pending()


@shared_task
def collect_garbage(grace_seconds: int | None = None) -> dict[str, int]:
    """One online garbage collection (scheduled every WHARF_GC_INTERVAL_SECONDS)."""
    report = gc.garbage_collect(grace_seconds=grace_seconds)
    metrics.GC_RUNS.inc()
    metrics.GC_BLOBS.inc(len(report.blobs))
    metrics.GC_BYTES.inc(report.bytes_freed)
    return {"manifests": len(report.manifests), "blobs": len(report.blobs), "bytes": report.bytes_freed}


@shared_task
def purge_deleted() -> dict[str, int]:
    """Remove for good what was deleted more than WHARF_DELETED_RETENTION_DAYS ago (scheduled daily)."""
    report = purge.purge_deleted()
    return {"packages": len(report.packages), "manifests": len(report.manifests)}


@shared_task
def sweep_orphans() -> dict[str, int]:
    """Page through the store for bytes without rows (every WHARF_GC_SWEEP_INTERVAL_SECONDS; resumes
    where a stopped sweep left off)."""
    report = sweep.sweep_orphans()
    return {"keys": report.keys_seen, "orphans": len(report.orphan_keys), "finished": int(report.finished)}
