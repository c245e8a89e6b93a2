"""Writes: uploads, blobs, manifests and tags. Each function owns its (short) transactions.

Blob uploads follow distribution-spec "Pushing blobs": a session is opened (``upload_start``), bytes
are appended in order (``upload_append``) while they are hashed, and the session is closed with the
client's digest (``upload_finish``). The bytes become a visible ``Blob`` only after the digest
verified and the store committed them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from .exceptions import (
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestUnknown,
    SizeInvalid,
    TooLarge,
    Unsupported,
    UploadRangeInvalid,
)
from .hashing import ResumableHash, digest_bytes
from .manifests import ParsedManifest, parse_manifest
from .models import Blob, DownloadCount, Manifest, Package, PackageBlob, Tag, Upload
from .names import Digest, is_digest_reference, parse_digest, parse_tag
from .selectors import package_get, upload_get
from .storage import BlobStore, blob_store

# A writer holds its session's lease for LEASE seconds and renews it every RENEW seconds while bytes
# flow, so a request that dies (even by SIGKILL) frees the session within LEASE seconds.
LEASE_SECONDS = 15
RENEW_SECONDS = 5
LEASE_WAIT_SECONDS = LEASE_SECONDS + 1


def package_for_write(*, name: str, user: Any = None) -> Package:
    """The package ``name``, created (private, administered by its publisher) by the first push."""
    namespace = name.split("/", 1)[0]
    try:
        package, _ = Package.objects.get_or_create(name=name, defaults={"namespace": namespace, "created_by": user})
    except IntegrityError:  # created by a concurrent push
        package = Package.objects.get(name=name)
    return package


def _link_blob(package: Package, blob: Blob) -> None:
    PackageBlob.objects.get_or_create(package=package, blob=blob)


# --- upload sessions ----------------------------------------------------------------------------


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
        _check_range(upload, start, length, end)
        offset, hasher, state = _write_chunk(upload, token, chunks, length, store)
        _commit_chunk(upload, token, offset, hasher, state)
    finally:
        _release_lease(upload, token)
    return upload


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
        _check_range(upload, start, length, end)
        offset, hasher, state = _write_chunk(upload, token, chunks, length, store)
        _commit_chunk(upload, token, offset, hasher, state)
        if wanted.algorithm == hasher.algorithm and hasher.hexdigest() != wanted.hex:
            _discard(upload, store)
            raise DigestInvalid(detail={"digest": digest})
        # Commit under the digest we computed, never under the unverified one the client claims:
        # a wrong claim must not replace the bytes of a blob already stored under that digest.
        streamed = Digest(hasher.algorithm, hasher.hexdigest())
        key = store.commit(str(upload.id), upload.storage_state, streamed)
        if wanted != streamed and not _verify_stored(store, key, wanted):
            _delete_unused(store, key)
            Upload.objects.filter(id=upload.id).delete()
            raise DigestInvalid(detail={"digest": digest})
        return _publish_blob(upload, str(wanted), offset, key, store)
    finally:
        _release_lease(upload, token)


def _publish_blob(upload: Upload, digest: str, size: int, key: str, store: BlobStore) -> Blob:
    """Make a verified blob visible in the upload's repository, atomically with closing the session."""
    with transaction.atomic():
        blob, created = Blob.objects.get_or_create(digest=digest, defaults={"size": size, "storage_key": key})
        _link_blob(upload.package, blob)
        Upload.objects.filter(id=upload.id).delete()
    if not created and blob.storage_key != key:
        _delete_unused(store, key)  # the same content was already stored under another key
    return blob


def _delete_unused(store: BlobStore, key: str) -> None:
    """Delete committed bytes no blob points at (content keys are shared: sha512 blobs live under
    the sha256 of their content)."""
    if not Blob.objects.filter(storage_key=key).exists():
        store.delete(key)


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


def blob_mount(*, name: str, digest: str, source: str, user: Any = None) -> Blob | None:
    """Link a blob the caller can read in ``source`` into ``name`` (spec "Mounting a blob").

    Returns None when there is nothing to mount; the caller then opens an ordinary session.
    """
    blob = Blob.objects.filter(digest=digest, packageblob__package__name=source).first()
    if blob is None:
        return None
    package = package_for_write(name=name, user=user)
    _link_blob(package, blob)
    return blob


def blob_unlink(*, name: str, digest: str) -> None:
    """DELETE a blob from a repository. Its bytes stay until garbage collection finds no user."""
    package = package_get(name=name)
    parse_digest(digest)
    link = PackageBlob.objects.filter(package=package, blob__digest=digest).first()
    if link is None:
        raise BlobUnknown(detail={"digest": digest})
    user = Manifest.objects.filter(package=package, blobs=link.blob).first()
    if user is not None:
        raise Unsupported(f"blob is used by manifest {user.digest}; delete the manifest first")
    link.delete()


# --- manifests and tags -------------------------------------------------------------------------


def _manifest_digest(reference: str, body: bytes) -> tuple[str, str | None]:
    """The pushed manifest's digest and its tag, if the reference is one (spec "Pushing Manifests")."""
    if is_digest_reference(reference):
        wanted = parse_digest(reference)
        if digest_bytes(body, wanted.algorithm) != reference:
            raise DigestInvalid("manifest body does not match the digest in the URL", detail={"digest": reference})
        return reference, None
    return digest_bytes(body), parse_tag(reference)


def _missing_references(package: Package, parsed: ParsedManifest) -> list[str]:
    wanted_blobs = parsed.required_blobs()
    present = set(
        PackageBlob.objects.select_for_update()
        .filter(package=package, blob__digest__in=wanted_blobs)
        .values_list("blob__digest", flat=True)
    )
    wanted_children = parsed.required_manifests()
    present |= set(
        Manifest.objects.filter(package=package, digest__in=wanted_children).values_list("digest", flat=True)
    )
    return [d for d in wanted_blobs + wanted_children if d not in present]


def manifest_put(
    *, name: str, reference: str, body: bytes, content_type: str, tags: Iterable[str] = (), user: Any = None
) -> tuple[Manifest, ParsedManifest]:
    """Store a manifest exactly as pushed, after checking everything it references is present."""
    digest, tag = _manifest_digest(reference, body)
    all_tags = list(dict.fromkeys(([tag] if tag else []) + [parse_tag(t) for t in tags]))
    parsed = parse_manifest(body, content_type)
    with transaction.atomic():
        package = package_for_write(name=name, user=user)
        missing = _missing_references(package, parsed)
        if missing:
            raise ManifestBlobUnknown(missing)
        manifest = Manifest.objects.filter(package=package, digest=digest).first()
        if manifest is None:
            manifest = _manifest_create(package, digest, body, parsed)
        for name_ in all_tags:
            Tag.objects.update_or_create(package=package, name=name_, defaults={"manifest": manifest})
        Package.objects.filter(id=package.id).update(updated_at=timezone.now())
    return manifest, parsed


def _manifest_create(package: Package, digest: str, body: bytes, parsed: ParsedManifest) -> Manifest:
    manifest = Manifest.objects.create(
        package=package,
        digest=digest,
        media_type=parsed.media_type,
        size=len(body),
        content=body,
        artifact_type=parsed.artifact_type,
        config_media_type=parsed.config.media_type if parsed.config else "",
        config_digest=parsed.config.digest if parsed.config else "",
        subject_digest=parsed.subject.digest if parsed.subject else "",
        annotations=parsed.annotations,
        foreign_urls=parsed.foreign_urls(),
    )
    manifest.blobs.set(Blob.objects.filter(digest__in=parsed.required_blobs()))
    manifest.children.set(Manifest.objects.filter(package=package, digest__in=parsed.required_manifests()))
    return manifest


def record_pull(*, manifest: Manifest) -> None:
    """Count one pull of ``manifest`` for today (one conditional UPDATE, an INSERT the first time)."""
    day = timezone.localdate()
    if not DownloadCount.objects.filter(manifest=manifest, day=day).update(count=F("count") + 1):
        try:
            with transaction.atomic():
                DownloadCount.objects.create(manifest=manifest, day=day, count=1)
        except IntegrityError:  # another request created today's row first
            DownloadCount.objects.filter(manifest=manifest, day=day).update(count=F("count") + 1)


def manifest_delete(*, name: str, digest: str) -> None:
    """DELETE by digest: the manifest and every tag pointing at it."""
    package = package_get(name=name)
    parse_digest(digest)
    deleted, _ = Manifest.objects.filter(package=package, digest=digest).delete()
    if not deleted:
        raise ManifestUnknown(detail={"digest": digest})


def tag_delete(*, name: str, tag: str) -> None:
    """DELETE by tag: only the tag; the manifest stays pullable by digest."""
    package = package_get(name=name)
    deleted, _ = Tag.objects.filter(package=package, name=tag).delete()
    if not deleted:
        raise ManifestUnknown(detail={"tag": tag[:200]})


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


# --- package settings ---------------------------------------------------------------------------


def package_set_visibility(*, package: Package, user: Any, visibility: str) -> Package:
    """Change visibility: admins only; as on ghcr.io, a public package cannot become private again."""
    from django.core.exceptions import PermissionDenied, ValidationError

    from .access import package_role
    from .models import Role, Visibility

    if package_role(user, package) != Role.ADMIN:
        raise PermissionDenied("Only the package's admins can change its visibility.")
    if visibility not in Visibility.values:
        raise ValidationError("Choose private, internal or public.", code="visibility")
    if package.visibility == Visibility.PUBLIC and visibility != Visibility.PUBLIC:
        raise ValidationError("A public package cannot be made private or internal again.", code="public")
    package.visibility = visibility
    package.save(update_fields=["visibility", "updated_at"])
    return package
