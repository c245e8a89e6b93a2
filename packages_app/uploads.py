"""Blob upload sessions (distribution-spec "Pushing blobs"): a session is opened (``upload_start``),
bytes are appended in order (``upload_append``) while they are hashed, and the session is closed with
the client's digest (``upload_finish``). The bytes become a visible ``Blob`` only after the digest
verified and the store committed them. Each function owns its (short) transactions.

Only one request writes to a session at a time: it holds the session's lease (``upload_leases``:
a conditional UPDATE), renewed while bytes flow, so a request that dies (even by SIGKILL) frees the
session within ``LEASE_SECONDS``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from . import quotas
from . import sql as statements
from .exceptions import (
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    QuotaExceeded,
    SizeInvalid,
    TooLarge,
    TooManyUploads,
    UploadGone,
    UploadRangeInvalid,
)
from .hashing import ResumableHash
from .models import Blob, Upload
from .names import Digest, parse_digest
from .selectors import live_uploads, upload_get
from .services.blobs import blob_create_or_lock, link_blob
from .services.packages import package_id_for_write
from .storage import BlobStore, blob_store
from .upload_leases import RENEW_SECONDS, release_lease, renew_lease, take_lease, upload_update


@dataclass(frozen=True)
class Chunk:
    """The bytes one request appends to a session (PATCH, or the closing PUT's body): ``data`` as it
    streams in, and what the client said of it: ``start``/``end`` (``Content-Range``, inclusive) and
    ``length`` (``Content-Length``; None for a body without one, Transfer-Encoding: chunked). A piece of
    ``data`` may be a view of a buffer the next piece reuses (``v2api.streams.body_chunks``)."""

    data: Iterable[bytes | memoryview] = ()
    start: int | None = None
    end: int | None = None
    length: int | None = None


def upload_start(
    *,
    name: str,
    user: User | None = None,
    store: BlobStore | None = None,
    repository_id: int | None = None,
    package_id: int | None = None,
) -> Upload:
    """Open an upload session bound to one repository (and user). ``repository_id``: an automation
    token's, whose first push creates the package linked to it (``package_for_write``); ``package_id``:
    the live package's, when the caller has just looked it up (otherwise it is looked up, or created).

    The row comes first, then the store's area (a file, a multipart upload): a worker killed in between
    leaves a row, which expiry removes, never bytes that nothing knows of. A store area whose state never
    reached the row (S3's multipart id) is found by ``upload_expiry``'s sweep.
    """
    store = store or blob_store()
    if package_id is None:
        package_id = package_id_for_write(name=name, user=user, repository_id=repository_id)
    upload = _create_session(package_id, user)
    try:
        state = store.start(str(upload.id))
    except BaseException:
        Upload.objects.filter(id=upload.id).delete()
        raise
    if state:
        Upload.objects.filter(id=upload.id).update(storage_state=state)
        upload.storage_state = state
    return upload


def _create_session(package_id: int, user: User | None) -> Upload:
    """A new session row, unless its owner already holds WHARF_MAX_OPEN_UPLOADS live ones: a user's (any
    of their tokens), or, for sessions without a user (anonymous, automation tokens), the package's.

    The count takes no lock (a lock on the owner's row serialized every push into a package with its
    manifest writes): requests starting at the same moment may pass it together, so the cap can be
    exceeded by at most the requests the server runs at once, never by thousands.
    """
    limit = settings.WHARF_MAX_OPEN_UPLOADS
    if limit:
        mine = {"user": user} if user is not None else {"user__isnull": True, "package_id": package_id}
        held = Upload.objects.filter(live_uploads(), **mine).count()
        if held >= limit:
            raise TooManyUploads(
                f"{held} upload sessions are open, the most this registry allows; finish or cancel one first",
                detail={"limit": limit},
            )
    return Upload.objects.create(package_id=package_id, user=user)


def _check_range(upload: Upload, chunk: Chunk) -> None:
    """Chunks must come in order (spec: 416 otherwise) and say their length truthfully."""
    start, end, length = chunk.start, chunk.end, chunk.length
    if start is not None and start != upload.offset:
        raise UploadRangeInvalid(offset=upload.offset)
    if end is not None and start is not None and length is not None and end - start + 1 != length:
        raise SizeInvalid("Content-Range does not match Content-Length")


def _write_chunk(
    upload: Upload, token: uuid.UUID, chunks: Iterable[bytes | memoryview], length: int | None, store: BlobStore
) -> tuple[int, ResumableHash, dict[str, Any]]:
    """Stream ``chunks`` to the store after the committed offset, hashing as they pass."""
    hasher = ResumableHash(upload.hash_algorithm, upload.hash_state)
    limit = settings.WHARF_MAX_BLOB_SIZE
    if length is not None and upload.offset + length > limit:
        raise TooLarge(detail={"limit": limit})
    try:
        return _stream(upload, token, chunks, length, hasher, store)
    except UploadGone:  # its stored bytes vanished: the session cannot go on, the client starts over
        discard_session(upload, store)
        raise


def _stream(
    upload: Upload,
    token: uuid.UUID,
    chunks: Iterable[bytes | memoryview],
    length: int | None,
    hasher: ResumableHash,
    store: BlobStore,
) -> tuple[int, ResumableHash, dict[str, Any]]:
    limit = settings.WHARF_MAX_BLOB_SIZE
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
                renew_lease(upload, token)
                renewed = time.monotonic()
        if length is not None and received != length:
            raise BlobUploadInvalid("the request body ended before Content-Length bytes arrived")
        state = writer.finish()
    except BaseException:
        writer.abort()
        raise
    return upload.offset + received, hasher, state


def _commit_chunk(
    upload: Upload,
    token: uuid.UUID,
    offset: int,
    hasher: ResumableHash,
    state: dict[str, Any],
    *,
    release: bool,
) -> None:
    """Record the new offset, hash state and store state together, in one conditional UPDATE; with
    ``release``, the same UPDATE gives up the lease (the end of a PATCH)."""
    statement = statements.COMMIT_CHUNK_AND_RELEASE if release else statements.COMMIT_CHUNK
    values = [("offset", offset), ("hash_state", hasher.state()), ("storage_state", state)]
    where = [("id", upload.id), ("lease_token", token), ("offset", upload.offset)]
    if not upload_update(statement, [*values, ("updated_at", timezone.now()), *where]):
        raise BlobUploadInvalid("the upload session was taken over by another request")
    upload.offset, upload.hash_state, upload.storage_state = offset, hasher.state(), state
    if release:
        upload.lease_token = None


def upload_append(
    *,
    name: str,
    upload_id: str,
    chunk: Chunk,
    store: BlobStore | None = None,
    user: User | None = None,
    upload: Upload | None = None,
) -> Upload:
    """Append one chunk (PATCH). Returns the session with its new offset. ``upload``: the session, when
    the caller has just read it (``selectors.upload_find`` with the same name, id and user)."""
    store = store or blob_store()
    upload = upload or upload_get(name=name, upload_id=upload_id, user=user)
    quotas.check_upload(upload, length=chunk.length)  # before any byte; a chunk without a length: at the PUT
    token = take_lease(upload)
    try:
        _append(upload, token, chunk, store, release=True)
    finally:
        if upload.lease_token == token:  # the chunk failed before its commit gave the lease up
            release_lease(upload, token)
    return upload


def _append(upload: Upload, token: uuid.UUID, chunk: Chunk, store: BlobStore, *, release: bool) -> ResumableHash:
    """Under the session's lease: check the chunk's range, stream it, record it (``release``: and give
    the lease up in the same UPDATE). Returns the hash."""
    _check_range(upload, chunk)
    offset, hasher, state = _write_chunk(upload, token, chunk.data, chunk.length, store)
    _commit_chunk(upload, token, offset, hasher, state, release=release)
    return hasher


def _stored_digest(store: BlobStore, key: str, algorithm: str) -> tuple[str, int]:
    """Hash committed bytes again: their hex digest and their size."""
    hasher, size = ResumableHash(algorithm), 0
    with store.open(key) as stream:
        while data := stream.read(1 << 20):
            hasher.update(data)
            size += len(data)
    return hasher.hexdigest(), size


def _verify_stored(store: BlobStore, key: str, digest: Digest) -> bool:
    """Used when the client's algorithm is not the one we streamed."""
    return _stored_digest(store, key, digest.algorithm)[0] == digest.hex


def discard_session(upload: Upload, store: BlobStore) -> None:
    """Remove a session and every byte it stored (its committed key too: no blob row points at it)."""
    store.discard(str(upload.id), upload.storage_state)
    Upload.objects.filter(id=upload.id).delete()
    upload.lease_token = None


def upload_finish(
    *,
    name: str,
    upload_id: str,
    digest: str,
    chunk: Chunk = Chunk(),
    store: BlobStore | None = None,
    user: User | None = None,
    upload: Upload | None = None,
) -> Blob:
    """Close a session (PUT ?digest=): append the optional last chunk, verify, and publish the blob.
    ``upload``: as for ``upload_append``.

    A digest that does not match cancels the session (DIGEST_INVALID): nothing is stored.
    """
    store = store or blob_store()
    upload = upload or upload_get(name=name, upload_id=upload_id, user=user)  # first: not yours is not there
    return _finish(upload, parse_digest(digest), chunk, store)


def _finish(upload: Upload, wanted: Digest, chunk: Chunk, store: BlobStore) -> Blob:
    digest = str(wanted)
    token = take_lease(upload)
    try:
        key = store.committed(str(upload.id), upload.storage_state)
        if key is not None:
            return _finish_committed(upload, wanted, chunk.data, key, store)
        _within_quota(upload, store, chunk.length, digest)
        if chunk.length == 0 and chunk.start is None:  # a chunked upload's closing PUT: nothing to append
            hasher = ResumableHash(upload.hash_algorithm, upload.hash_state)
        else:
            hasher = _append(upload, token, chunk, store, release=False)
        if wanted.algorithm == hasher.algorithm and hasher.hexdigest() != wanted.hex:
            discard_session(upload, store)
            raise DigestInvalid(detail={"digest": digest})
        if chunk.length is None:  # a body without a length: checked now, before its bytes become a blob
            _within_quota(upload, store, 0, digest)
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
        if upload.lease_token == token:  # not when the session is gone (published, discarded)
            release_lease(upload, token)


def _within_quota(upload: Upload, store: BlobStore, length: int | None, digest: str) -> None:
    """The quota check of a PUT (or a monolithic POST): a refusal ends the session with its bytes."""
    try:
        quotas.check_upload(upload, length=length, digest=digest)
    except QuotaExceeded:
        discard_session(upload, store)
        raise


def _finish_committed(
    upload: Upload, wanted: Digest, chunks: Iterable[bytes | memoryview], key: str, store: BlobStore
) -> Blob:
    """A retried PUT for a session whose bytes a dying request committed before writing the ``Blob`` row.

    The stored bytes are hashed again: if they are the session's and match the digest, the blob is
    published as the first PUT would have; otherwise the session goes (BLOB_UPLOAD_UNKNOWN, or
    DIGEST_INVALID for a digest that is not the content's) and the client starts over.
    """
    if any(chunks):
        discard_session(upload, store)
        raise BlobUploadUnknown("the upload was already complete; start the upload again to send more")
    hexdigest, size = _stored_digest(store, key, wanted.algorithm)
    if size != upload.offset:
        discard_session(upload, store)
        raise BlobUploadUnknown("the upload's stored bytes were lost in a crash; start the upload again")
    if hexdigest != wanted.hex:
        discard_session(upload, store)
        raise DigestInvalid(detail={"digest": str(wanted)})
    return _publish_blob(upload, str(wanted), size, key, store)


def _publish_blob(upload: Upload, digest: str, size: int, key: str, store: BlobStore) -> Blob:
    """Make a verified blob visible in the upload's repository, atomically with closing the session.

    The existing row is locked (NO KEY UPDATE: manifests may still reference it meanwhile) so that a
    garbage collection deleting it finishes first; then this upload's bytes make a new row.
    """
    with transaction.atomic():
        blob, created = blob_create_or_lock(digest, size, key)
        link_blob(upload.package_id, blob)
        Upload.objects.filter(id=upload.id).delete()
    upload.lease_token = None  # the session is gone with its lease
    if not created:
        store.delete(key)  # the same content is already stored under another upload's key
    return blob


def upload_cancel(*, name: str, upload_id: str, store: BlobStore | None = None, user: User | None = None) -> None:
    store = store or blob_store()
    upload = upload_get(name=name, upload_id=upload_id, user=user)
    token = take_lease(upload)
    try:
        discard_session(upload, store)
    finally:
        if upload.lease_token == token:  # the discard failed before the row went
            release_lease(upload, token)


def blob_upload_monolithic(
    *,
    name: str,
    digest: str,
    chunk: Chunk,
    user: User | None = None,
    repository_id: int | None = None,
    package_id: int | None = None,
) -> Blob:
    """POST ?digest=: the whole blob in one request (``package_id``: as for ``upload_start``)."""
    wanted = parse_digest(digest)
    upload = upload_start(name=name, user=user, repository_id=repository_id, package_id=package_id)
    try:
        return _finish(upload, wanted, chunk, blob_store())
    except BaseException:
        if Upload.objects.filter(id=upload.id).exists():
            discard_session(upload, blob_store())
        raise
