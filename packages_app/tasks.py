"""Celery entry points: thin wrappers that load by id and call one service each (scheduled by beat in
``settings.CELERY_BEAT_SCHEDULE``; each also runs as a management command)."""

from __future__ import annotations

from celery import shared_task

from . import gc, metadata, services


@shared_task
def expire_uploads() -> int:
    """Remove upload sessions idle longer than WHARF_UPLOAD_TIMEOUT (scheduled every minute)."""
    return services.uploads_expire()


@shared_task
def extract_metadata(manifest_id: int) -> bool:
    """Labels, platforms and the package's description after a push (enqueued by manifest_put)."""
    return metadata.manifest_extract_metadata(manifest_id=manifest_id) is not None


@shared_task
def extract_pending_metadata() -> int:
    """Catch up on manifests whose extraction task was lost (a broker that was down, a worker killed)."""
    return metadata.metadata_extract_pending()


@shared_task
def collect_garbage(grace_seconds: int | None = None) -> dict[str, int]:
    """One online garbage collection (scheduled every WHARF_GC_INTERVAL_SECONDS)."""
    report = gc.garbage_collect(grace_seconds=grace_seconds)
    return {"manifests": len(report.manifests), "blobs": len(report.blobs), "bytes": report.bytes_freed}
