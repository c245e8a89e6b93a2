"""Reads: packages, blobs, manifests, tags, referrers and upload sessions, as the protocol sees them."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection
from django.db.models import F
from django.db.models.functions import Collate

from .exceptions import BlobUnknown, BlobUploadUnknown, ManifestUnknown, NameUnknown
from .manifests import IMAGE_TYPES
from .models import Blob, Manifest, Package, Tag, Upload
from .names import is_digest_reference, parse_digest


def package_get(*, name: str) -> Package:
    try:
        return Package.objects.get(name=name)
    except Package.DoesNotExist:
        raise NameUnknown() from None


def blob_get(*, package: Package, digest: str) -> Blob:
    """A blob is readable through a repository once it was uploaded or mounted there."""
    parse_digest(digest)
    blob = Blob.objects.filter(digest=digest, packageblob__package=package).first()
    if blob is None:
        raise BlobUnknown(detail={"digest": digest})
    return blob


def manifest_get(*, package: Package, reference: str) -> Manifest:
    if is_digest_reference(reference):
        parse_digest(reference)
        manifest = Manifest.objects.filter(package=package, digest=reference).first()
    else:
        tag = Tag.objects.select_related("manifest").filter(package=package, name=reference).first()
        manifest = tag.manifest if tag else None
    if manifest is None:
        raise ManifestUnknown(detail={"reference": reference[:200]})
    return manifest


def _ascii_order(field: str) -> Any:
    """Tags sort ASCIIbetically (Go's sort.Strings), whatever the database's collation."""
    if connection.vendor == "postgresql":
        return Collate(F(field), "C")
    return F(field)


def tags_page(*, package: Package, n: int, last: str | None) -> tuple[list[str], bool]:
    """Up to ``n`` tag names after ``last``, and whether more follow (distribution-spec "Listing Tags")."""
    if n == 0:
        return [], False
    queryset = Tag.objects.filter(package=package).annotate(sort_name=_ascii_order("name"))
    if last:
        queryset = queryset.filter(sort_name__gt=last)
    names = list(queryset.order_by("sort_name").values_list("name", flat=True)[: n + 1])
    return names[:n], len(names) > n


def referrer_descriptor(manifest: Manifest) -> dict[str, Any]:
    """The descriptor the referrers API lists (distribution-spec "Listing Referrers")."""
    descriptor: dict[str, Any] = {"mediaType": manifest.media_type, "digest": manifest.digest, "size": manifest.size}
    artifact_type = manifest.artifact_type or (
        manifest.config_media_type if manifest.media_type in IMAGE_TYPES else ""
    )
    if artifact_type:
        descriptor["artifactType"] = artifact_type
    if manifest.annotations:
        descriptor["annotations"] = manifest.annotations
    return descriptor


def referrers_list(*, package: Package, digest: str, artifact_type: str | None) -> list[dict[str, Any]]:
    parse_digest(digest)
    manifests = Manifest.objects.filter(package=package, subject_digest=digest).order_by("created_at", "id")
    descriptors = [referrer_descriptor(m) for m in manifests]
    if artifact_type:
        descriptors = [d for d in descriptors if d.get("artifactType") == artifact_type]
    return descriptors


def upload_get(*, name: str, upload_id: str, user: Any = None) -> Upload:
    """An upload session, only through the repository and for the user that opened it; to anyone
    else it does not exist."""
    try:
        key = uuid.UUID(upload_id)
    except ValueError:
        raise BlobUploadUnknown() from None
    owner = {"user": user} if user is not None else {"user__isnull": True}
    upload = Upload.objects.filter(id=key, package__name=name, **owner).first()
    if upload is None:
        raise BlobUploadUnknown()
    return upload
