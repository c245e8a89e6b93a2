"""Celery entry points: thin wrappers that call one service each."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task
def expire_uploads() -> int:
    """Remove upload sessions idle longer than WHARF_UPLOAD_TIMEOUT (scheduled every minute)."""
    return services.uploads_expire()
