"""The garbage collector's grace period and what a HEAD does to a queued review (``gc`` for the rest).

Kept apart from ``gc`` so that reads (``selectors``) can use them without importing the collector.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from .models import Blob, BlobReview


def gc_grace_seconds(requested: int | None = None) -> int:
    """The grace period: ``requested`` (an operator's override) or WHARF_GC_GRACE_SECONDS, never less
    than the upload timeout, whoever asks: a shorter one could collect the finished layers of a push
    whose manifest has not arrived yet."""
    wanted = settings.WHARF_GC_GRACE_SECONDS if requested is None else requested
    return max(wanted, settings.WHARF_UPLOAD_TIMEOUT)


def review_due_soon() -> Exists:
    """For a blob query: whether the blob's queued review comes due within half a grace period (a
    fresh upload's does not: it was queued a moment ago)."""
    return Exists(BlobReview.objects.filter(blob_id=OuterRef("pk"), queued_at__lt=due_soon_cutoff()))


def due_soon_cutoff() -> datetime:
    """A review queued before this moment comes due within half a grace period."""
    return timezone.now() - timedelta(seconds=gc_grace_seconds() / 2)


def blob_review_postpone(*, blob: Blob) -> None:
    """A HEAD of a blob whose review comes due soon (``review_due_soon``): the client may be about to
    skip its upload and push a manifest that refers to it, so the review starts its grace period again.
    This closes the race GitLab left open (HEAD, collection, manifest PUT): after a HEAD a blob stays
    at least half a grace period, never less than half the upload timeout. One UPDATE by primary key,
    and only for such a blob: a HEAD of anything else is still the one query."""
    BlobReview.objects.filter(blob_id=blob.id).update(queued_at=timezone.now())
