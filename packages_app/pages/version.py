"""A version page: its manifest, layers or platform images, referrers and the version it is attached to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Sum

from accounts.roles import Viewer

from .. import selectors
from ..exceptions import ManifestUnknown
from ..manifests import INDEX_TYPES
from ..models import DownloadCount, Manifest, Package, Role
from ..tagged_referrers import tagged_referrers
from .versions import image_size, manifest_document, referrer_kind


@dataclass(frozen=True)
class Layer:
    media_type: str
    digest: str
    size: int


@dataclass(frozen=True)
class PlatformManifest:
    """One platform image of an index: its descriptor, and its own version page when stored."""

    digest: str
    media_type: str
    os: str
    architecture: str
    variant: str
    size: int
    version_id: int | None

    @property
    def name(self) -> str:
        return "/".join(part for part in (self.os, self.architecture, self.variant) if part)


@dataclass(frozen=True)
class Linked:
    """Another version of the package, shown as a link to its page (a referrer, a subject, an index)."""

    digest: str
    version_id: int
    kind: str = ""
    artifact_type: str = ""
    created_at: Any = None


@dataclass
class VersionDetail:
    package: Package
    manifest: Manifest
    role: Role
    tags: list[str]
    downloads: int
    size: int
    config: dict[str, Any]
    layers: list[Layer] = field(default_factory=list)
    platforms: list[PlatformManifest] = field(default_factory=list)
    referrers: list[Linked] = field(default_factory=list)
    subject: Linked | None = None
    indexes: list[Linked] = field(default_factory=list)

    @property
    def digest(self) -> str:
        return self.manifest.digest

    @property
    def is_index(self) -> bool:
        return self.manifest.media_type in INDEX_TYPES

    @property
    def is_admin(self) -> bool:
        return self.role >= Role.ADMIN

    @property
    def is_deleted(self) -> bool:
        return self.manifest.deleted_at is not None

    @property
    def labels(self) -> dict[str, str]:
        return dict(sorted((self.manifest.labels or {}).items()))

    @property
    def annotations(self) -> dict[str, str]:
        return dict(sorted((self.manifest.annotations or {}).items()))


def _descriptors(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return [d for d in doc.get(key) or [] if isinstance(d, dict)]


def _layers(doc: dict[str, Any]) -> list[Layer]:
    return [
        Layer(str(d.get("mediaType", "")), str(d.get("digest", "")), int(d.get("size") or 0))
        for d in _descriptors(doc, "layers")
    ]


def _platform_manifests(package: Package, doc: dict[str, Any]) -> list[PlatformManifest]:
    """An index's entries that are platforms (not buildx attestations), with each stored image's size."""
    entries = [d for d in _descriptors(doc, "manifests") if isinstance(d.get("platform"), dict)]
    stored = {
        m.digest: m for m in Manifest.objects.filter(package=package, digest__in=[d.get("digest") for d in entries])
    }
    result = []
    for entry in entries:
        platform, digest = entry["platform"], str(entry.get("digest", ""))
        if platform.get("os") == "unknown" or platform.get("architecture") == "unknown":
            continue
        child = stored.get(digest)
        size = image_size(manifest_document(child)) if child is not None else int(entry.get("size") or 0)
        result.append(
            PlatformManifest(
                digest,
                str(entry.get("mediaType", "")),
                str(platform.get("os", "")),
                str(platform.get("architecture", "")),
                str(platform.get("variant", "") or ""),
                size,
                child.id if child is not None else None,
            )
        )
    return result


def _referrers(package: Package, manifest: Manifest) -> list[Linked]:
    rows = Manifest.objects.filter(package=package, subject_digest=manifest.digest, deleted_at__isnull=True)
    linked = []
    for ref in rows.order_by("created_at", "id"):
        artifact_type = selectors.referrer_descriptor(ref).get("artifactType", "")
        linked.append(Linked(ref.digest, ref.id, referrer_kind(artifact_type), artifact_type, ref.created_at))
    for tagged in tagged_referrers(package=package, digest=manifest.digest):  # cosign's sha256-<hex>.sig, …
        ref, known = tagged.manifest, {link.digest for link in linked}
        if ref.digest not in known:
            artifact_type = selectors.referrer_descriptor(ref).get("artifactType", "")
            linked.append(Linked(ref.digest, ref.id, tagged.kind, artifact_type, ref.created_at))
    return linked


def _related(package: Package, manifest: Manifest) -> tuple[Linked | None, list[Linked]]:
    """The version a referrer points at, and the indexes a platform image belongs to."""
    subject = None
    if manifest.subject_digest:
        found = Manifest.objects.filter(package=package, digest=manifest.subject_digest).first()
        subject = Linked(found.digest, found.id) if found is not None else None
    indexes = [Linked(p.digest, p.id) for p in manifest.parents.filter(deleted_at__isnull=True).order_by("-id")]
    return subject, indexes


def _downloads(manifest: Manifest) -> int:
    return int(DownloadCount.objects.filter(manifest=manifest).aggregate(n=Sum("count"))["n"] or 0)


def version_detail(*, name: str, user: Viewer | None, version_id: int) -> VersionDetail:
    """A version's page; NameUnknown / ManifestUnknown for what the viewer may not see (a deleted
    version is shown to the package's admins only, who may restore it)."""
    package, role = selectors.package_for_page(name=name, user=user)
    manifest = selectors.version_get(package=package, version_id=version_id)
    if manifest.deleted_at is not None and role < Role.ADMIN:
        raise ManifestUnknown()
    doc = manifest_document(manifest)
    subject, indexes = _related(package, manifest)
    platforms = _platform_manifests(package, doc) if manifest.media_type in INDEX_TYPES else []
    config = doc.get("config") if isinstance(doc.get("config"), dict) else {}
    return VersionDetail(
        package=package,
        manifest=manifest,
        role=role,
        tags=selectors.version_tags(manifest),
        downloads=_downloads(manifest),
        size=sum(p.size for p in platforms) if platforms else image_size(doc),
        config=config or {},
        layers=_layers(doc),
        platforms=platforms,
        referrers=_referrers(package, manifest),
        subject=subject,
        indexes=indexes,
    )
