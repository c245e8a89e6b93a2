"""The storage consistency check (``manage.py check_storage [--verify]``): stored keys no row points at,
blob rows whose bytes are missing, upload data no session owns and, with ``verify``, digests that do
not verify. It reads only; the sweep (``sweep``), upload expiry (``upload_expiry``) and the collector
(``gc``) are what repair."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .models import Blob
from .progress import Progress, silent
from .storage import BlobStore, blob_store
from .sweep import orphan_keys
from .upload_expiry import leaked_upload_areas


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
    say = progress or silent
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
