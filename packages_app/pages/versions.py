"""The versions list of a package: each version with its tags, size, platforms, downloads and
referrers, in the views all / tagged / untagged / deleted (REGISTRY.md "Package pages")."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet, Sum

from ..kinds import deleted_versions, versions
from ..manifests import INDEX_TYPES
from ..models import DownloadCount, Manifest, Package, Tag, deleted_cutoff
from ..selectors import referrer_descriptor

REFERRER_KINDS = {
    "application/vnd.dev.cosign.artifact.sig.v1+json": "Signature",
    "application/vnd.dev.cosign.simplesigning.v1+json": "Signature",
    "application/vnd.dev.sigstore.bundle.v0.3+json": "Signature",
    "application/vnd.cncf.notary.signature": "Signature",
    "application/spdx+json": "SBOM",
    "text/spdx": "SBOM",
    "application/vnd.cyclonedx+json": "SBOM",
    "application/vnd.syft+json": "SBOM",
    "application/vnd.in-toto+json": "Attestation",
    "application/vnd.dsse.envelope.v1+json": "Attestation",
}


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(part for part in (self.os, self.architecture, self.variant) if part)


@dataclass(frozen=True)
class Referrer:
    digest: str
    artifact_type: str
    kind: str  # Signature, SBOM, Attestation or Artifact
    version_id: int | None = None  # its own version page


@dataclass
class Version:
    manifest: Manifest
    tags: list[str]
    size: int
    platforms: list[Platform]
    downloads: int
    referrers: list[Referrer] = field(default_factory=list)

    @property
    def digest(self) -> str:
        return self.manifest.digest

    @property
    def short_digest(self) -> str:
        return self.manifest.digest.split(":", 1)[-1][:12]

    @property
    def is_index(self) -> bool:
        return self.manifest.media_type in INDEX_TYPES


def _document(manifest: Manifest) -> dict[str, Any]:
    try:
        doc = json.loads(bytes(manifest.content))
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _image_size(doc: dict[str, Any]) -> int:
    """Config plus layers, as the descriptors state them."""
    parts = [doc.get("config") or {}, *(doc.get("layers") or [])]
    return sum(int(part.get("size") or 0) for part in parts if isinstance(part, dict))


def _descriptor_platforms(doc: dict[str, Any]) -> list[Platform]:
    """Platforms from an index's descriptors (before tasks.extract_metadata has filled ``platforms``)."""
    found = [d.get("platform") for d in doc.get("manifests") or [] if isinstance(d, dict)]
    return [_platform(p) for p in found if isinstance(p, dict)]


def _platform(entry: dict[str, Any]) -> Platform:
    return Platform(str(entry.get("os", "")), str(entry.get("architecture", "")), str(entry.get("variant", "") or ""))


def version_platforms(manifest: Manifest) -> list[Platform]:
    """The platforms a version runs on: the extracted ones once extraction ran, else an index's own
    descriptors; attestation entries (``unknown/unknown``, buildx) are not platforms."""
    if manifest.extracted_at is not None:
        platforms = [_platform(p) for p in manifest.platforms if isinstance(p, dict)]
    elif manifest.media_type in INDEX_TYPES:
        platforms = _descriptor_platforms(_document(manifest))
    else:
        platforms = []
    return list(dict.fromkeys(p for p in platforms if p.os != "unknown" and p.architecture != "unknown"))


def referrer_kind(artifact_type: str) -> str:
    if artifact_type in REFERRER_KINDS:
        return REFERRER_KINDS[artifact_type]
    lowered = artifact_type.lower()
    for needles, kind in (
        (("sig",), "Signature"),
        (("sbom", "spdx", "cyclonedx"), "SBOM"),
        (("in-toto", "attest", "provenance"), "Attestation"),
    ):
        if any(n in lowered for n in needles):
            return kind
    return "Artifact"


def _versions(package: Package, manifests: list[Manifest]) -> list[Version]:
    """Versions with their tags, sizes, platforms, downloads and referrers, in a few queries."""
    ids = [m.id for m in manifests]
    tags: dict[int, list[str]] = {}
    for manifest_id, tag in (
        Tag.objects.filter(manifest_id__in=ids).order_by("-updated_at", "name").values_list("manifest_id", "name")
    ):
        tags.setdefault(manifest_id, []).append(tag)
    downloads = dict(
        DownloadCount.objects.filter(manifest_id__in=ids)
        .values("manifest_id")
        .annotate(n=Sum("count"))
        .values_list("manifest_id", "n")
    )
    docs = {m.id: _document(m) for m in manifests}
    child_digests = {
        d.get("digest") for m in manifests for d in docs[m.id].get("manifests") or [] if isinstance(d, dict)
    }
    children = {
        c.digest: _image_size(_document(c)) for c in Manifest.objects.filter(package=package, digest__in=child_digests)
    }
    referrers: dict[str, list[Referrer]] = {}
    for ref in Manifest.objects.filter(
        package=package, subject_digest__in=[m.digest for m in manifests], deleted_at__isnull=True
    ).order_by("created_at"):
        artifact_type = referrer_descriptor(ref).get("artifactType", "")
        referrers.setdefault(ref.subject_digest, []).append(
            Referrer(ref.digest, artifact_type, referrer_kind(artifact_type), ref.id)
        )
    return [
        Version(
            manifest=m,
            tags=tags.get(m.id, []),
            size=_version_size(m, docs[m.id], children),
            platforms=version_platforms(m),
            downloads=int(downloads.get(m.id) or 0),
            referrers=referrers.get(m.digest, []),
        )
        for m in manifests
    ]


manifest_document = _document


image_size = _image_size


def _version_size(manifest: Manifest, doc: dict[str, Any], children: dict[str, int]) -> int:
    """An image: config plus layers; an index: the sum of its platform images (REGISTRY.md "Package pages")."""
    if manifest.media_type in INDEX_TYPES:
        return sum(children.get(str(d.get("digest")), 0) for d in doc.get("manifests") or [] if isinstance(d, dict))
    return _image_size(doc)


class VersionView(StrEnum):
    ALL = "all"
    TAGGED = "tagged"
    UNTAGGED = "untagged"
    DELETED = "deleted"  # deleted within WHARF_DELETED_RETENTION_DAYS: restorable (REGISTRY.md "Deleting")


def _version_rows(package: Package, view: VersionView = VersionView.ALL) -> QuerySet[Manifest]:
    """The versions (``kinds.versions``) in one view; deleted ones only in their own view."""
    if view is VersionView.DELETED:
        return deleted_versions(package, deleted_cutoff())
    tagged = {VersionView.TAGGED: True, VersionView.UNTAGGED: False}.get(view)
    return versions(package, tagged=tagged)


@dataclass(frozen=True)
class VersionsPage:
    versions: list[Version]
    view: VersionView
    counts: dict[str, int]
    page: Any  # django.core.paginator.Page


def _with_tag(rows: QuerySet[Manifest], package: Package, view: VersionView, tag: str) -> QuerySet[Manifest]:
    """Versions with a tag containing ``tag`` (a deleted version: one of the tags it had, exactly)."""
    if not tag:
        return rows
    if view is VersionView.DELETED:
        return rows.filter(deleted_tags__contains=[tag])
    return rows.filter(id__in=Tag.objects.filter(package=package, name__icontains=tag).values("manifest_id"))


def versions_page(
    *, package: Package, view: str = "all", page: str | int = 1, per_page: int = 30, tag: str = ""
) -> VersionsPage:
    """One page of a package's versions in the chosen view (all, tagged, untagged, deleted), those
    with a tag containing ``tag`` when it is given."""
    chosen = VersionView(view) if view in VersionView._value2member_map_ else VersionView.ALL
    paginator = Paginator(_with_tag(_version_rows(package, chosen), package, chosen, tag), per_page)
    current = paginator.get_page(page)
    counts = {v.value: _version_rows(package, v).count() for v in VersionView}
    return VersionsPage(_versions(package, list(current.object_list)), chosen, counts, current)
