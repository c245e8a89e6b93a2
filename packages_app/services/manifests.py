"""Manifests: a push (stored exactly as pushed once everything it references is present), a DELETE by
digest, and counting pulls."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from .. import events, quotas, tagging
from ..access import ANONYMOUS, Actor
from ..audit import audit_record
from ..exceptions import DigestInvalid, ManifestBlobUnknown, ManifestUnknown
from ..hashing import digest_bytes
from ..manifests import ParsedManifest, parse_manifest
from ..models import AuditEvent, Blob, Manifest, Package, PackageBlob
from ..names import is_digest_reference, parse_digest, parse_tag
from ..selectors import package_get
from .packages import package_for_write
from .versions import _pushed, version_delete


def _manifest_digest(reference: str, body: bytes) -> tuple[str, str | None]:
    """The pushed manifest's digest and its tag, if the reference is one (spec "Pushing Manifests")."""
    if is_digest_reference(reference):
        wanted = parse_digest(reference)
        if digest_bytes(body, wanted.algorithm) != reference:
            raise DigestInvalid("manifest body does not match the digest in the URL", detail={"digest": reference})
        return reference, None
    return digest_bytes(body), parse_tag(reference)


@dataclass(frozen=True)
class _References:
    missing: list[str]  # digests the manifest references but the repository lacks
    blob_ids: list[int]  # the referenced blobs present
    child_ids: list[int]  # the referenced manifests present (an index's)


def _references(package: Package, parsed: ParsedManifest) -> _References:
    """What the manifest references, present and missing. The links and child manifests found
    are locked until the manifest is stored, so garbage collection cannot remove them meanwhile (it
    skips locked rows); rows it removed first are missing here (MANIFEST_BLOB_UNKNOWN)."""
    wanted_blobs = parsed.required_blobs()
    digests = dict(Blob.objects.filter(digest__in=wanted_blobs).values_list("id", "digest"))
    # Only the link rows are locked (no join: a join would lock blob rows too and could deadlock
    # with an upload publishing the same blob), in id order so concurrent pushes lock alike.
    linked = list(
        PackageBlob.objects.select_for_update()
        .filter(package=package, blob_id__in=list(digests))
        .order_by("blob_id")
        .values_list("blob_id", flat=True)
    )
    wanted_children = parsed.required_manifests()
    children = dict(
        Manifest.objects.select_for_update()
        .filter(package=package, digest__in=wanted_children, deleted_at__isnull=True)
        .order_by("id")
        .values_list("id", "digest")
    )
    present = {digests[blob_id] for blob_id in linked} | set(children.values())
    missing = [d for d in wanted_blobs + wanted_children if d not in present]
    return _References(missing, linked, list(children))


def manifest_put(
    *,
    name: str,
    reference: str,
    body: bytes,
    content_type: str,
    tags: Iterable[str] = (),
    user: User | None = None,
    actor: str = "",
    repository_id: int | None = None,
) -> tuple[Manifest, ParsedManifest]:
    """Store a manifest exactly as pushed, after checking everything it references is present.
    ``repository_id``: an automation token's (``package_for_write``)."""
    digest, tag = _manifest_digest(reference, body)
    all_tags = list(dict.fromkeys(([tag] if tag else []) + [parse_tag(t) for t in tags]))
    parsed = parse_manifest(body, content_type)
    with transaction.atomic():
        package = package_for_write(name=name, user=user, repository_id=repository_id)
        references = _references(package, parsed)
        if references.missing:
            raise ManifestBlobUnknown(references.missing)
        quotas.check_manifest(package, parsed)
        manifest = Manifest.objects.select_for_update().filter(package=package, digest=digest).first()
        created = manifest is None or manifest.deleted_at is not None
        if manifest is None:
            manifest = _manifest_create(package, digest, body, parsed, references)
        elif manifest.deleted_at is not None:  # pushed again after a soft delete: live again
            manifest.deleted_at, manifest.deleted_tags = None, []
            manifest.save(update_fields=["deleted_at", "deleted_tags"])
        moved = tagging.tags_point(package=package, manifest=manifest, names=all_tags, user=user)
        Package.objects.filter(id=package.id).update(updated_at=timezone.now())
        who = actor or (user.username if user is not None else "anonymous")
        audit_record(
            package=package, user=user, actor=who, action=AuditEvent.Action.PUSH, detail=_pushed(digest, all_tags)
        )
        _enqueue_extraction(manifest.id)
        events.pushed(manifest=manifest, parsed=parsed, created=created, moved=moved, actor=who)
    return manifest, parsed


def _enqueue_extraction(manifest_id: int) -> None:
    """Labels and annotations are extracted by a worker once the manifest is committed (issue 6)."""
    # A broker that is down must not fail a push already committed (beat catches up).
    events.enqueue("packages_app.tasks.extract_metadata", manifest_id)


def _manifest_create(
    package: Package, digest: str, body: bytes, parsed: ParsedManifest, references: _References
) -> Manifest:
    """The new manifest's row, and its links to what it references (written directly: it has none yet)."""
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
    blobs, children = Manifest.blobs.through, Manifest.children.through
    blobs.objects.bulk_create([blobs(manifest_id=manifest.id, blob_id=b) for b in references.blob_ids])
    children.objects.bulk_create(
        [children(from_manifest_id=manifest.id, to_manifest_id=c) for c in references.child_ids]
    )
    return manifest


def manifest_delete(*, name: str, digest: str, actor: Actor | None = None) -> None:
    """DELETE by digest: the version (the manifest and every tag pointing at it), soft-deleted by
    ``version_delete`` as the pages and the REST API do, which checks ``actor`` itself
    (``packages_app.access.can``: the v2 view asked the same question first, to answer in OCI terms)."""
    package = package_get(name=name)
    parse_digest(digest)
    manifest = Manifest.objects.filter(package=package, digest=digest, deleted_at__isnull=True).first()
    if manifest is None:
        raise ManifestUnknown(detail={"digest": digest})
    version_delete(manifest=manifest, actor=actor or ANONYMOUS)
