"""Blob upload sessions (distribution-spec "Pushing blobs"): a session is opened (``upload_start``),
bytes are appended in order (``upload_append``) while they are hashed, and the session is closed with
the client's digest (``upload_finish``). The bytes become a visible ``Blob`` only after the digest
verified and the store committed them. Each function owns its (short) transactions.

Only one request writes to a session at a time: it holds the session's lease (a conditional UPDATE),
renewed while bytes flow, so a request that dies (even by SIGKILL) frees the session within
``LEASE_SECONDS``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .exceptions import BlobUploadInvalid, BlobUploadUnknown, DigestInvalid, SizeInvalid, TooLarge, UploadRangeInvalid
from .hashing import ResumableHash
from .models import Blob, Upload
from .names import Digest, parse_digest
from .selectors import upload_get
from .services import _link_blob as link_blob
from .services import package_for_write
from .storage import BlobStore, blob_store

# A writer holds its session's lease for LEASE seconds and renews it every RENEW seconds while bytes
# flow, so a request that dies (even by SIGKILL) frees the session within LEASE seconds.
LEASE_SECONDS = 15
RENEW_SECONDS = 5
LEASE_WAIT_SECONDS = LEASE_SECONDS + 1


def upload_start(*, name: str, user: Any = None, store: BlobStore | None = None) -> Upload:
    """Open an upload session bound to one repository (and user)."""
    store = store or blob_store()
    package = package_for_write(name=name, user=user)
    upload_id = uuid.uuid4()
    state = store.start(str(upload_id))
    return Upload.objects.create(id=upload_id, package=package, user=user, storage_state=state)


def _take_lease(upload: Upload) -> uuid.UUID:
    """Make this request the only writer of ``upload`` (waits for a dying writer's lease to lapse)."""
    deadline = time.monotonic() + LEASE_WAIT_SECONDS
    while True:
        token, now = uuid.uuid4(), timezone.now()
        free = Q(lease_token__isnull=True) | Q(lease_until__lt=now)
        taken = Upload.objects.filter(free, id=upload.id).update(
            lease_token=token, lease_until=now + timedelta(seconds=LEASE_SECONDS)
        )
        if taken:
            upload.refresh_from_db()
            return token
        if not Upload.objects.filter(id=upload.id).exists():
            raise BlobUploadUnknown()
        if time.monotonic() > deadline:
            raise UploadRangeInvalid("another request is writing to this upload", offset=upload.offset)
        time.sleep(0.1)


def _renew_lease(upload: Upload, token: uuid.UUID) -> None:
    until = timezone.now() + timedelta(seconds=LEASE_SECONDS)
    if not Upload.objects.filter(id=upload.id, lease_token=token).update(lease_until=until):
        raise BlobUploadInvalid("the upload session was taken over by another request")


def _release_lease(upload: Upload, token: uuid.UUID) -> None:
    Upload.objects.filter(id=upload.id, lease_token=token).update(lease_token=None, lease_until=None)


def _check_range(upload: Upload, start: int | None, length: int | None, end: int | None) -> None:
    """Chunks must come in order (spec: 416 otherwise) and say their length truthfully."""
    if start is not None and start != upload.offset:
        raise UploadRangeInvalid(offset=upload.offset)
    if end is not None and start is not None and length is not None and end - start + 1 != length:
        raise SizeInvalid("Content-Range does not match Content-Length")


def _write_chunk(
    upload: Upload, token: uuid.UUID, chunks: Iterable[bytes], length: int | None, store: BlobStore
) -> tuple[int, ResumableHash, dict[str, Any]]:
    """Stream ``chunks`` to the store after the committed offset, hashing as they pass."""
    hasher = ResumableHash(upload.hash_algorithm, upload.hash_state)
    limit = settings.WHARF_MAX_BLOB_SIZE
    if length is not None and upload.offset + length > limit:
        raise TooLarge(detail={"limit": limit})
    writer = store.writer(str(upload.id), upload.offset, upload.storage_state)
    received, renewed = 0, time.monotonic()
    try:
        for data in chunks:
            received += len(data)
            if upload.offset + received > limit:
                raise TooLarge(detail={"limit": limit})
            hasher.update(data)
            writer.write(data)
            if time.monotonic() - renewed > RENEW_SECONDS:
                _renew_lease(upload, token)
                renewed = time.monotonic()
        if length is not None and received != length:
            raise BlobUploadInvalid("the request body ended before Content-Length bytes arrived")
        state = writer.finish()
    except BaseException:
        writer.abort()
        raise
    return upload.offset + received, hasher, state


def _commit_chunk(upload: Upload, token: uuid.UUID, offset: int, hasher: ResumableHash, state: dict[str, Any]) -> None:
    """Record the new offset, hash state and store state together, in one conditional UPDATE."""
    updated = Upload.objects.filter(id=upload.id, lease_token=token, offset=upload.offset).update(
        offset=offset, hash_state=hasher.state(), storage_state=state, updated_at=timezone.now()
    )
    if not updated:
        raise BlobUploadInvalid("the upload session was taken over by another request")
    upload.offset, upload.hash_state, upload.storage_state = offset, hasher.state(), state


def upload_append(
    *,
    name: str,
    upload_id: str,
    chunks: Iterable[bytes],
    start: int | None = None,
    end: int | None = None,
    length: int | None = None,
    store: BlobStore | None = None,
    user: Any = None,
) -> Upload:
    """Append one chunk (PATCH). Returns the session with its new offset."""
    store = store or blob_store()
    upload = upload_get(name=name, upload_id=upload_id, user=user)
    token = _take_lease(upload)
    try:
        _append(upload, token, chunks, start, end, length, store)
    finally:
        _release_lease(upload, token)
    return upload


def _append(
    upload: Upload,
    token: uuid.UUID,
    chunks: Iterable[bytes],
    start: int | None,
    end: int | None,
    length: int | None,
    store: BlobStore,
) -> ResumableHash:
    """Under the session's lease: check the chunk's range, stream it, record it. Returns the hash."""
    _check_range(upload, start, length, end)
    offset, hasher, state = _write_chunk(upload, token, chunks, length, store)
    _commit_chunk(upload, token, offset, hasher, state)
    return hasher


def _verify_stored(store: BlobStore, key: str, digest: Digest) -> bool:
    """Hash a committed blob again: used when the client's algorithm is not the one we streamed."""
    hasher = ResumableHash(digest.algorithm)
    with store.open(key) as stream:
        while data := stream.read(1 << 20):
            hasher.update(data)
    return hasher.hexdigest() == digest.hex


def _discard(upload: Upload, store: BlobStore) -> None:
    store.discard(str(upload.id), upload.storage_state)
    Upload.objects.filter(id=upload.id).delete()


def upload_finish(
    *,
    name: str,
    upload_id: str,
    digest: str,
    chunks: Iterable[bytes] = (),
    start: int | None = None,
    end: int | None = None,
    length: int | None = None,
    store: BlobStore | None = None,
    user: Any = None,
) -> Blob:
    """Close a session (PUT ?digest=): append the optional last chunk, verify, and publish the blob.

    A digest that does not match cancels the session (DIGEST_INVALID): nothing is stored.
    """
    store = store or blob_store()
    wanted = parse_digest(digest)
    upload = upload_get(name=name, upload_id=upload_id, user=user)
    token = _take_lease(upload)
    try:
        hasher = _append(upload, token, chunks, start, end, length, store)
        if wanted.algorithm == hasher.algorithm and hasher.hexdigest() != wanted.hex:
            _discard(upload, store)
            raise DigestInvalid(detail={"digest": digest})
        # Commit under the digest we computed, never under the unverified one the client claims:
        # a wrong claim must not replace the bytes of a blob already stored under that digest.
        streamed = Digest(hasher.algorithm, hasher.hexdigest())
        key = store.commit(str(upload.id), upload.storage_state, streamed)
        if wanted != streamed and not _verify_stored(store, key, wanted):
            store.delete(key)  # the key is this upload's own: no blob row points at it
            Upload.objects.filter(id=upload.id).delete()
            raise DigestInvalid(detail={"digest": digest})
        return _publish_blob(upload, str(wanted), upload.offset, key, store)
    finally:
        _release_lease(upload, token)


def _publish_blob(upload: Upload, digest: str, size: int, key: str, store: BlobStore) -> Blob:
    """Make a verified blob visible in the upload's repository, atomically with closing the session.

    The existing row is locked (NO KEY UPDATE: manifests may still reference it meanwhile) so that a
    garbage collection deleting it finishes first; then this upload's bytes make a new row.
    """
    with transaction.atomic():
        blob, created = Blob.objects.select_for_update(no_key=True).get_or_create(
            digest=digest, defaults={"size": size, "storage_key": key}
        )
        link_blob(upload.package, blob)
        Upload.objects.filter(id=upload.id).delete()
    if not created:
        store.delete(key)  # the same content is already stored under another upload's key
    return blob


def upload_cancel(*, name: str, upload_id: str, store: BlobStore | None = None, user: Any = None) -> None:
    store = store or blob_store()
    upload = upload_get(name=name, upload_id=upload_id, user=user)
    token = _take_lease(upload)
    try:
        _discard(upload, store)
    finally:
        _release_lease(upload, token)


def blob_upload_monolithic(
    *, name: str, digest: str, chunks: Iterable[bytes], length: int | None, user: Any = None
) -> Blob:
    """POST ?digest=: the whole blob in one request."""
    parse_digest(digest)
    upload = upload_start(name=name, user=user)
    try:
        return upload_finish(
            name=name, upload_id=str(upload.id), digest=digest, chunks=chunks, length=length, user=user
        )
    except BaseException:
        if Upload.objects.filter(id=upload.id).exists():
            _discard(upload, blob_store())
        raise


def uploads_expire(*, idle_seconds: int | None = None, store: BlobStore | None = None) -> int:
    """Remove sessions idle longer than the upload timeout, with their partial data."""
    store = store or blob_store()
    idle = settings.WHARF_UPLOAD_TIMEOUT if idle_seconds is None else idle_seconds
    now = timezone.now()
    stale = Upload.objects.filter(updated_at__lt=now - timedelta(seconds=idle)).filter(
        Q(lease_token__isnull=True) | Q(lease_until__lt=now)
    )
    removed = 0
    for upload in stale.iterator():
        # Claim the session first: a request may have resumed it since the query ran.
        claim = {"lease_token": uuid.uuid4(), "lease_until": now + timedelta(seconds=LEASE_SECONDS)}
        if stale.filter(id=upload.id).update(**claim):
            _discard(upload, store)
            removed += 1
    return removed
