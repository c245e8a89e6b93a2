"""The garbage collector's own tables: the review queue, the byte deletions still to finish and the
orphan sweep's progress (``packages_app.gc``, ``packages_app.sweep``)."""

from __future__ import annotations

from django.db import models

from .registry import Blob


class BlobReview(models.Model):
    """A blob garbage collection should look at (GitLab's online GC review queue).

    Rows are written by database triggers (migration 0010), whatever code path removes a reference:
    a blob is queued when it is stored, when a manifest stops referring to it and when a repository
    link to it goes. ``gc.garbage_collect`` reviews the rows older than the grace period and only
    those, so its cost follows what changed, not the size of the registry. A HEAD of the blob pushes
    ``queued_at`` forward (``gc_queue.blob_review_postpone``). No foreign-key constraint: a row may
    outlive its blob by a moment; the review then simply drops it.
    """

    blob = models.OneToOneField(
        Blob, primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    queued_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"review of blob {self.blob_id} queued {self.queued_at:%Y-%m-%d %H:%M:%S}"


class StoreDeletion(models.Model):
    """Stored bytes whose row a collection deleted, written in the same transaction: the bytes go after
    the commit, and a worker killed in between leaves this row for the next run to finish."""

    storage_key = models.CharField(max_length=300, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.storage_key


class StoreSweep(models.Model):
    """The orphan sweep's place in the store's key listing (one row), so a sweep that stopped resumes
    where it was instead of listing every key again."""

    after_key = models.CharField(max_length=1024, blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    keys_seen = models.BigIntegerField(default=0)
    orphans_deleted = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"store sweep after {self.after_key!r}"
