"""Expiry of upload sessions (REGISTRY.md "Background work"; ``expire_uploads``, task and command).

Two kinds of leftovers, both removed with their bytes:

* sessions idle longer than WHARF_UPLOAD_TIMEOUT (already refused when used, ``selectors.upload_get``);
* upload areas the store holds without any session row, older than the timeout: a worker killed while
  a session was being opened, or a session row removed while its bytes could not be (S3's multipart
  uploads among them). Sessions create their row before their area, so an area without a row that is
  older than the timeout belongs to nobody. Only in-progress bytes go, never a committed key.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .models import Upload
from .progress import Progress, silent
from .storage import BlobStore, UploadArea, blob_store
from .upload_leases import LEASE_SECONDS
from .uploads import discard_session


@dataclass
class ExpiryReport:
    sessions: list[str] = field(default_factory=list)  # idle sessions removed (or that would be)
    areas: list[str] = field(default_factory=list)  # upload areas without a session removed


def uploads_expire(
    *,
    idle_seconds: int | None = None,
    dry_run: bool = False,
    store: BlobStore | None = None,
    progress: Progress | None = None,
) -> ExpiryReport:
    """Remove idle sessions and upload areas nobody owns; a dry run lists them and removes nothing."""
    store = store or blob_store()
    say = progress or silent
    idle = settings.WHARF_UPLOAD_TIMEOUT if idle_seconds is None else idle_seconds
    report = ExpiryReport()
    verb = "would remove" if dry_run else "removed"
    for upload in _idle_sessions(idle, dry_run, store):
        report.sessions.append(str(upload))
        say(f"{verb} upload session {upload} (idle more than {idle}s)")
    for area in leaked_upload_areas(store=store, idle_seconds=idle):
        if not dry_run:
            store.discard_area(area)
        report.areas.append(area.upload_id)
        say(f"{verb} upload data {area.upload_id} (no session owns it)")
    say(f"{verb} {len(report.sessions)} idle session(s) and {len(report.areas)} upload area(s) without a session")
    return report


def _idle_sessions(idle: int, dry_run: bool, store: BlobStore) -> Iterator[uuid.UUID]:
    now = timezone.now()
    stale = Upload.objects.filter(updated_at__lt=now - timedelta(seconds=idle)).filter(
        Q(lease_token__isnull=True) | Q(lease_until__lt=now)
    )
    for upload in stale.iterator():
        if dry_run:
            yield upload.id
            continue
        # Claim the session first: a request may have resumed it since the query ran.
        claim = {"lease_token": uuid.uuid4(), "lease_until": now + timedelta(seconds=LEASE_SECONDS)}
        if stale.filter(id=upload.id).update(**claim):
            discard_session(upload, store)
            yield upload.id


def leaked_upload_areas(*, store: BlobStore, idle_seconds: int | None = None) -> Iterator[UploadArea]:
    """Upload areas older than the timeout that no session row owns (read only)."""
    idle = settings.WHARF_UPLOAD_TIMEOUT if idle_seconds is None else idle_seconds
    cutoff = timezone.now() - timedelta(seconds=idle)
    for area in store.upload_areas():
        if area.started < cutoff and not _has_session(area.upload_id):
            yield area


def _has_session(name: str) -> bool:
    try:
        upload_id = uuid.UUID(name)
    except ValueError:
        return True  # not an upload's name: nothing of ours, left alone
    return Upload.objects.filter(id=upload_id).exists()
