"""Upload session leases: one writer per session at a time.

A writer holds its session's lease for LEASE_SECONDS and renews it every RENEW_SECONDS while bytes
flow, so a request that dies (even by SIGKILL) frees the session within LEASE_SECONDS. The lease is
a token and a deadline on the session's row (``Upload.lease_token``, ``lease_until``), taken and
given up by conditional UPDATEs; ``packages_app.uploads`` holds it around every write."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from . import sql as statements
from .exceptions import BlobUploadInvalid, BlobUploadUnknown, UploadRangeInvalid
from .models import Upload

LEASE_SECONDS = 15
RENEW_SECONDS = 5
LEASE_WAIT_SECONDS = LEASE_SECONDS + 1


def take_lease(upload: Upload) -> uuid.UUID:
    """Make this request the only writer of ``upload`` (waits for a dying writer's lease to lapse).

    The lease is taken only while the session's offset is still the one ``upload`` was read with:
    offset, hash state and store state change together and only under a lease, so then the row read
    before is the row as it is, and needs no second read. Otherwise it is read again and tried again."""
    deadline = time.monotonic() + LEASE_WAIT_SECONDS
    while True:
        token, now = uuid.uuid4(), timezone.now()
        until = now + timedelta(seconds=LEASE_SECONDS)
        values = [("lease_token", token), ("lease_until", until), ("id", upload.id), ("offset", upload.offset)]
        if upload_update(statements.TAKE_LEASE, [*values, ("lease_until", now)]):
            upload.lease_token = token
            return token
        try:
            upload.refresh_from_db(fields=["offset", "hash_state", "storage_state", "lease_token", "lease_until"])
        except Upload.DoesNotExist:
            raise BlobUploadUnknown() from None
        if upload.lease_token is None or upload.lease_until is None or upload.lease_until < timezone.now():
            continue  # free, only the offset had moved on: take it at the new offset
        if time.monotonic() > deadline:
            raise UploadRangeInvalid("another request is writing to this upload", offset=upload.offset)
        time.sleep(0.1)


def upload_update(statement: str, values: list[tuple[str, Any]]) -> int:
    """Run one of ``sql``'s written-out UPDATEs of an upload session, each value prepared as its field
    (``Upload``'s, by name) prepares it; the number of rows it changed."""
    params = [statements.prepared(Upload, name, value) for name, value in values]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return int(cursor.rowcount)


def renew_lease(upload: Upload, token: uuid.UUID) -> None:
    until = timezone.now() + timedelta(seconds=LEASE_SECONDS)
    if not Upload.objects.filter(id=upload.id, lease_token=token).update(lease_until=until):
        raise BlobUploadInvalid("the upload session was taken over by another request")


def release_lease(upload: Upload, token: uuid.UUID) -> None:
    Upload.objects.filter(id=upload.id, lease_token=token).update(lease_token=None, lease_until=None)
