"""Reads: packages, blobs, manifests, tags, referrers and upload sessions, as the protocol sees them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Collate
from django.utils import timezone

from .access import Seen, package_role
from .exceptions import BlobUnknown, BlobUploadUnknown, ManifestUnknown, NameUnknown, RegistryError
from .kinds import FALLBACK_TAG_PREFIX, not_a_referrer, speaking_tags
from .manifests import IMAGE_TYPES, INDEX_TYPES
from .models import Blob, DownloadCount, Manifest, Package, Role, Tag, Upload, Visibility, deleted_cutoff
from .names import is_digest_reference, list_marker, parse_digest
from .reviews import due_soon_cutoff
from .tagged_referrers import schema_index_descriptors, tagged_referrers


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
        manifest = Manifest.objects.filter(package=package, digest=reference, deleted_at__isnull=True).first()
    else:
        tag = Tag.objects.select_related("manifest").filter(package=package, name=reference).first()
        manifest = tag.manifest if tag else None
    if manifest is None:
        raise ManifestUnknown(detail={"reference": reference[:200]})
    return manifest


def _valid_digest_in(name: str, digest: str) -> None:
    """Check ``digest``'s grammar; a missing package is reported first (NAME_UNKNOWN before
    DIGEST_INVALID, as when the package is looked up on its own)."""
    try:
        parse_digest(digest)
    except RegistryError:
        package_get(name=name)
        raise


@dataclass(frozen=True)
class PulledManifest:
    """What a manifest GET or HEAD answers with (no model: a pull builds no ORM query)."""

    id: int
    digest: str
    media_type: str
    size: int
    content: bytes
    package: Seen


_MANIFEST_COLUMNS = (
    'SELECT "packages_app_manifest"."id", "packages_app_manifest"."digest", "packages_app_manifest"."media_type", '
    '"packages_app_manifest"."size", "packages_app_manifest"."content", "packages_app_package"."id", '
    '"packages_app_package"."visibility" '
)
# Deleted versions and the versions of a deleted package are gone to the registry (REGISTRY.md "Deleting").
_MANIFEST_BY_DIGEST = (
    _MANIFEST_COLUMNS + 'FROM "packages_app_manifest" INNER JOIN "packages_app_package" '
    'ON "packages_app_manifest"."package_id" = "packages_app_package"."id" '
    'WHERE "packages_app_package"."name" = %s AND "packages_app_package"."deleted_at" IS NULL '
    'AND "packages_app_manifest"."digest" = %s AND "packages_app_manifest"."deleted_at" IS NULL LIMIT 1'
)
_MANIFEST_BY_TAG = (
    _MANIFEST_COLUMNS + 'FROM "packages_app_manifest" INNER JOIN "packages_app_tag" '
    'ON "packages_app_tag"."manifest_id" = "packages_app_manifest"."id" INNER JOIN "packages_app_package" '
    'ON "packages_app_tag"."package_id" = "packages_app_package"."id" '
    'AND "packages_app_manifest"."package_id" = "packages_app_package"."id" '
    'WHERE "packages_app_package"."name" = %s AND "packages_app_package"."deleted_at" IS NULL '
    'AND "packages_app_tag"."name" = %s AND "packages_app_manifest"."deleted_at" IS NULL LIMIT 1'
)


def _valid_digest(reference: str) -> bool:
    try:
        parse_digest(reference)
    except RegistryError:
        return False
    return True


def manifest_find(*, name: str, reference: str) -> PulledManifest | None:
    """The manifest ``reference`` (a tag or a digest) of the live package ``name`` with the package's id
    and visibility, in one query written out (building it with the ORM was half a pull's CPU), or None
    (also, without a query, for a reference that is not a valid digest: ``manifest_missing`` says why)."""
    if is_digest_reference(reference):
        if not _valid_digest(reference):
            return None
        sql = _MANIFEST_BY_DIGEST
    else:
        sql = _MANIFEST_BY_TAG
    with connection.cursor() as cursor:
        cursor.execute(sql, [name, reference])
        row = cursor.fetchone()
    if row is None:
        return None
    return PulledManifest(row[0], row[1], row[2], row[3], bytes(row[4]), Seen(row[5], row[6]))


def manifest_missing(*, name: str, reference: str) -> RegistryError:
    """Why ``manifest_find`` found nothing: an invalid digest, no such package (NAME_UNKNOWN, reported
    first: distribution-spec "Pulling manifests") or no such manifest."""
    if is_digest_reference(reference):
        _valid_digest_in(name, reference)
    package_get(name=name)
    return ManifestUnknown(detail={"reference": reference[:200]})


def manifest_get_by_name(*, name: str, reference: str) -> PulledManifest:
    """``manifest_find``, raising when there is none."""
    manifest = manifest_find(name=name, reference=reference)
    if manifest is None:
        raise manifest_missing(name=name, reference=reference)
    return manifest


_BLOB_BY_NAME = (
    'SELECT "packages_app_blob"."id", "packages_app_blob"."size", "packages_app_blob"."storage_key", '
    '"packages_app_package"."id", "packages_app_package"."visibility", EXISTS(SELECT 1 FROM '
    '"packages_app_blobreview" WHERE "packages_app_blobreview"."blob_id" = "packages_app_blob"."id" '
    'AND "packages_app_blobreview"."queued_at" < %s) FROM "packages_app_blob" INNER JOIN "packages_app_packageblob" '
    'ON "packages_app_packageblob"."blob_id" = "packages_app_blob"."id" INNER JOIN "packages_app_package" '
    'ON "packages_app_packageblob"."package_id" = "packages_app_package"."id" '
    'WHERE "packages_app_blob"."digest" = %s AND "packages_app_package"."name" = %s '
    'AND "packages_app_package"."deleted_at" IS NULL LIMIT 1'
)


def blob_find(*, name: str, digest: str) -> tuple[Blob, Seen] | None:
    """The blob ``digest`` as the live package ``name`` links it, with the package's id and visibility,
    in one query written out; the blob is annotated ``review_due_soon`` (``reviews``). None also, without
    a query, for an invalid digest (``blob_missing`` says why)."""
    if not _valid_digest(digest):
        return None
    with connection.cursor() as cursor:
        cursor.execute(_BLOB_BY_NAME, [due_soon_cutoff(), digest, name])
        row = cursor.fetchone()
    if row is None:
        return None
    blob = Blob(id=row[0], digest=digest, size=row[1], storage_key=row[2])
    blob.review_due_soon = row[5]  # type: ignore[attr-defined]
    return blob, Seen(row[3], row[4])


def blob_missing(*, name: str, digest: str) -> RegistryError:
    """Why ``blob_find`` found nothing: NAME_UNKNOWN first, then DIGEST_INVALID, then BLOB_UNKNOWN."""
    _valid_digest_in(name, digest)
    package_get(name=name)
    return BlobUnknown(detail={"digest": digest})


def blob_get_by_name(*, name: str, digest: str) -> Blob:
    """``blob_find``, raising when there is none."""
    found = blob_find(name=name, digest=digest)
    if found is None:
        raise blob_missing(name=name, digest=digest)
    return found[0]


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
        queryset = queryset.filter(sort_name__gt=list_marker(last))
    names = list(queryset.order_by("sort_name").values_list("name", flat=True)[: n + 1])
    return names[:n], len(names) > n


def referrer_descriptor(manifest: Manifest) -> dict[str, Any]:
    """The descriptor the referrers API lists (distribution-spec "Listing Referrers")."""
    descriptor: dict[str, Any] = {"mediaType": manifest.media_type, "digest": manifest.digest, "size": manifest.size}
    artifact_type = manifest.artifact_type or (manifest.config_media_type if manifest.media_type in IMAGE_TYPES else "")
    if artifact_type:
        descriptor["artifactType"] = artifact_type
    if manifest.annotations:
        descriptor["annotations"] = manifest.annotations
    return descriptor


def referrers_list(*, package: Package, digest: str, artifact_type: str | None) -> list[dict[str, Any]]:
    parse_digest(digest)
    manifests = Manifest.objects.filter(package=package, subject_digest=digest, deleted_at__isnull=True).order_by(
        "created_at", "id"
    )
    descriptors = [referrer_descriptor(m) for m in manifests]
    descriptors += [referrer_descriptor(t.manifest) for t in tagged_referrers(package=package, digest=digest)]
    descriptors += schema_index_descriptors(package=package, digest=digest)
    descriptors = _first_of_each_digest(descriptors)
    if artifact_type:
        descriptors = [d for d in descriptors if d.get("artifactType") == artifact_type]
    return descriptors


def live_uploads() -> Q:
    """Sessions still usable: active within WHARF_UPLOAD_TIMEOUT, or being written right now (a lease)."""
    now = timezone.now()
    return Q(updated_at__gte=now - timedelta(seconds=settings.WHARF_UPLOAD_TIMEOUT)) | Q(lease_until__gt=now)


def _first_of_each_digest(descriptors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    unique = []
    for descriptor in descriptors:
        if descriptor["digest"] not in seen:
            seen.add(descriptor["digest"])
            unique.append(descriptor)
    return unique


def upload_get(*, name: str, upload_id: str, user: Any = None) -> Upload:
    """An upload session, only through the repository and for the user that opened it; to anyone
    else it does not exist. A session idle longer than WHARF_UPLOAD_TIMEOUT does not exist either,
    whether or not the expiry job has removed it yet."""
    try:
        key = uuid.UUID(upload_id)
    except ValueError:
        raise BlobUploadUnknown() from None
    owner = {"user": user} if user is not None else {"user__isnull": True}
    live = Upload.objects.filter(live_uploads())
    upload = live.filter(id=key, package__name=name, package__deleted_at__isnull=True, **owner).first()
    if upload is None:
        raise BlobUploadUnknown()
    return upload


# --- package pages ------------------------------------------------------------------------------
# What the web pages show (REGISTRY.md "Package pages"). Who may see what is decided by
# ``access.package_role`` alone; these functions only ask it.

CHART_DAYS = 30
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


def _person(user: Any) -> Any:
    """The signed-in user, or None for a visitor (what ``package_role`` expects)."""
    return user if user is not None and user.is_authenticated else None


def package_for_page(*, name: str, user: Any) -> tuple[Package, Role]:
    """The package and the viewer's role on it. NameUnknown, exactly as for a package that does not
    exist, when the viewer cannot read it (REGISTRY.md "Packages, visibility and access")."""
    package = Package.objects.filter(name=name).first()
    role = package_role(_person(user), package) if package is not None else None
    if package is None or role is None:
        raise NameUnknown()
    return package, role


def _readable(user: Any, packages: Iterable[Package]) -> list[Package]:
    person = _person(user)
    return [p for p in packages if package_role(person, p) is not None]


def public_packages(*, query: str = "", limit: int = 50) -> list[Package]:
    """Public packages, newest first, whose name contains ``query``."""
    packages = Package.objects.filter(visibility=Visibility.PUBLIC, name__icontains=query)
    return list(packages.order_by("-updated_at", "name")[:limit])


@dataclass(frozen=True)
class HomePage:
    public: list[Package]
    mine: list[Package]
    organizations: list[Any]
    query: str


def home_page(*, user: Any, query: str = "") -> HomePage:
    """Public packages (searchable by name) and, for a signed-in person, their own and their organizations'."""
    from accounts.selectors import organizations_of

    person = _person(user)
    if person is None:
        return HomePage(public_packages(query=query), [], [], query)
    organizations = list(organizations_of(user=person))
    namespaces = [person.username, *(o.name for o in organizations)]
    candidates = Package.objects.filter(namespace__in=namespaces).order_by("-updated_at", "name")[:200]
    return HomePage(public_packages(query=query), _readable(person, candidates)[:20], organizations, query)


@dataclass(frozen=True)
class OwnerPage:
    name: str
    organization: Any  # accounts.Organization, or None for a user (or a namespace with no account)
    is_member: bool
    packages: list[Package]
    query: str


def owner_page(*, owner: str, user: Any, query: str = "") -> OwnerPage:
    """A user's or organization's packages that the viewer may read. NameUnknown when there is no such
    account and the viewer can read nothing there (so private packages do not reveal a namespace)."""
    from accounts.models import Organization
    from accounts.selectors import is_member

    organization = Organization.objects.filter(name=owner).first()
    exists = organization is not None or get_user_model().objects.filter(username=owner).exists()
    candidates = Package.objects.filter(namespace=owner).order_by("-updated_at", "name")
    packages = _readable(user, candidates)
    if not exists and not packages:
        raise NameUnknown()
    if query:
        packages = [p for p in packages if query.lower() in p.name.lower()]
    member = organization is not None and _person(user) is not None and is_member(organization=organization, user=user)
    return OwnerPage(owner, organization, member, packages, query)


# --- versions -----------------------------------------------------------------------------------


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


# Public names for the presenters (packages_app.pages).
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
    DELETED = "deleted"  # deleted less than 30 days ago: restorable (REGISTRY.md "Deleting")


def _version_rows(package: Package, view: VersionView = VersionView.ALL) -> QuerySet[Manifest]:
    """A package's versions: every manifest except untagged referrers (listed under their subject) and
    the untagged platform images of an index (listed as its platforms). Deleted ones only in their own view."""
    if view is VersionView.DELETED:
        cutoff = deleted_cutoff()
        deleted = Manifest.objects.filter(package=package, subject_digest="", deleted_at__gt=cutoff)
        return (
            deleted.annotate(n_parents=Count("parents", distinct=True))
            .exclude(n_parents__gt=0)
            .order_by("-deleted_at", "-id")
        )
    releases = Count("tags", filter=~Q(tags__name__startswith=FALLBACK_TAG_PREFIX), distinct=True)
    rows = (
        Manifest.objects.filter(package=package, deleted_at__isnull=True)
        .annotate(n_parents=Count("parents", distinct=True), n_tags=Count("tags", distinct=True), n_releases=releases)
        .exclude(n_parents__gt=0, n_tags=0)
        .exclude(~not_a_referrer(), n_releases=0)  # a referrer is a version only under a tag of its own
        # Tagged only sha256-<hex>[.sig|.att|.sbom]: an attachment, listed under the version it names
        # (packages_app.tagged_referrers), not a version of its own.
        .exclude(n_tags__gt=0, n_releases=0)
    )
    if view is VersionView.TAGGED:
        rows = rows.filter(n_tags__gt=0)
    elif view is VersionView.UNTAGGED:
        rows = rows.filter(n_tags=0)
    return rows.order_by("-created_at", "-id")


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


# --- the package page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: date
    count: int


@dataclass(frozen=True)
class DownloadChart:
    """Daily downloads as SVG bars in a WIDTH x HEIGHT box (drawn by the template, no script)."""

    bars: list[Bar]
    peak: int
    start: date
    end: date
    width: int = 300
    height: int = 60


def download_chart(*, package: Package, days: int = CHART_DAYS) -> DownloadChart:
    end = timezone.localdate()
    start = end - timedelta(days=days - 1)
    rows = (
        DownloadCount.objects.filter(manifest__package=package, day__gte=start).values("day").annotate(n=Sum("count"))
    )
    per_day = {row["day"]: int(row["n"]) for row in rows}
    peak = max(per_day.values(), default=0)
    width, height = DownloadChart.width, DownloadChart.height
    step = width / days
    bars = []
    for i in range(days):
        day = start + timedelta(days=i)
        count = per_day.get(day, 0)
        bar_height = max(count / peak * (height - 2), 1.0) if peak and count else 0.0
        bars.append(
            Bar(
                round(i * step + 1, 2),
                round(height - bar_height, 2),
                round(step - 2, 2),
                round(bar_height, 2),
                day,
                count,
            )
        )
    return DownloadChart(bars, peak, start, end)


LATEST_TAG = "latest"


def install_tag(*, package: Package) -> str | None:
    """The tag the pull command shows: ``latest`` when it is one of them, else the most recently pushed
    tag of an image (``kinds``); never a referrer's or a ``sha256-…`` fallback tag."""
    tags = speaking_tags(Tag.objects.filter(package=package))
    if tags.filter(name=LATEST_TAG).exists():
        return LATEST_TAG
    return tags.order_by("-updated_at", "-id").values_list("name", flat=True).first()


def safe_source_url(url: str) -> str | None:
    """The source label as a link only when it is an http(s) URL (never javascript:, data:, ...)."""
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in {"http", "https"} and parts.netloc else None


@dataclass(frozen=True)
class PackagePage:
    package: Package
    role: Role
    install_tag: str | None
    recent: list[Version]
    platforms: list[Platform]  # of the version the install tag points at
    version_count: int
    downloads: int
    chart: DownloadChart
    source_url: str | None

    @property
    def is_admin(self) -> bool:
        return self.role >= Role.ADMIN


def package_page(*, name: str, user: Any) -> PackagePage:
    """Everything the package page shows; NameUnknown for a package the viewer cannot read."""
    package, role = package_for_page(name=name, user=user)
    tag = install_tag(package=package)
    recent = _versions(package, list(_version_rows(package, VersionView.TAGGED)[:5]))
    installed = Tag.objects.select_related("manifest").filter(package=package, name=tag).first() if tag else None
    downloads = DownloadCount.objects.filter(manifest__package=package).aggregate(n=Sum("count"))["n"] or 0
    return PackagePage(
        package=package,
        role=role,
        install_tag=tag,
        recent=recent,
        platforms=version_platforms(installed.manifest) if installed else [],
        version_count=_version_rows(package).count(),
        downloads=int(downloads),
        chart=download_chart(package=package),
        source_url=safe_source_url(package.source_url),
    )


def owner_is_organization(*, namespace: str) -> bool:
    from accounts.models import Organization

    return Organization.objects.filter(name=namespace).exists()


# --- package management (settings, the REST API, repositories, audit log) --------------------------
# A package the caller cannot read, a deleted one and one that never existed are all NameUnknown.


def package_readable(*, name: str, user: Any) -> tuple[Package, Role]:
    """A live package ``user`` may read, with their role; NameUnknown otherwise."""
    return package_for_page(name=name, user=user)


def packages_readable(*, namespaces: list[str], user: Any, visibility: str = "") -> list[Package]:
    """The live packages of ``namespaces`` that ``user`` may read, by name; ``visibility`` filters."""
    packages = Package.objects.filter(namespace__in=namespaces).select_related("repository").order_by("name")
    if visibility:
        packages = packages.filter(visibility=visibility)
    return _readable(user, packages)


def package_deleted(*, name: str, user: Any) -> Package:
    """The most recently deleted package ``name`` (within 30 days) that ``user`` administered."""
    cutoff = deleted_cutoff()
    package = Package.all_objects.filter(name=name, deleted_at__gt=cutoff).order_by("-deleted_at").first()
    if package is None or _person(user) is None or package_role(user, package) != Role.ADMIN:
        raise NameUnknown()
    return package


def packages_deleted(*, namespace: str, user: Any) -> list[Package]:
    """Packages of ``namespace`` deleted within 30 days that ``user`` may restore (their admins)."""
    cutoff = deleted_cutoff()
    deleted = Package.all_objects.filter(namespace=namespace, deleted_at__gt=cutoff).order_by("-deleted_at")
    person = _person(user)
    return [p for p in deleted if person is not None and package_role(person, p) == Role.ADMIN]


def version_rows(*, package: Package, state: str = "active") -> QuerySet[Manifest]:
    """The REST API's versions: ``active`` (every live version) or ``deleted`` (restorable)."""
    return _version_rows(package, VersionView.DELETED if state == "deleted" else VersionView.ALL)


def version_get(*, package: Package, version_id: int) -> Manifest:
    """A version of ``package`` by id, live or deleted within 30 days; ManifestUnknown for any other id
    (another package's version is the same as a missing one)."""
    cutoff = deleted_cutoff()
    manifest = (
        Manifest.objects.filter(package=package, id=version_id)
        .exclude(deleted_at__lte=cutoff)
        .select_related("package")
        .first()
    )
    if manifest is None:
        raise ManifestUnknown()
    return manifest


def version_tags(manifest: Manifest) -> list[str]:
    """A version's tags; a deleted one's are the tags it had (they come back with a restore)."""
    if manifest.deleted_at is not None:
        return list(manifest.deleted_tags)
    return list(Tag.objects.filter(manifest=manifest).order_by("name").values_list("name", flat=True))


@dataclass(frozen=True)
class AccessEntry:
    kind: str  # "user" or "team"
    name: str
    role: Role
    source: str  # "package" (its own list) or "repository" (inherited)


def package_access(*, package: Package) -> list[AccessEntry]:
    """Who holds a role on ``package`` by grant: its own list, or while it inherits, the repository's."""
    from .access import inherits_access
    from .models import PackagePermission, RepositoryCollaborator

    if inherits_access(package):
        rows = RepositoryCollaborator.objects.filter(repository_id=package.repository_id).select_related("user")
        return [
            AccessEntry("user", c.user.username, Role(c.role), "repository") for c in rows.order_by("user__username")
        ]
    grants = PackagePermission.objects.filter(package=package).select_related("user", "team")
    return [
        AccessEntry(
            "user" if g.user else "team",
            g.user.username if g.user else g.team.slug if g.team else "",
            Role(g.role),
            "package",
        )
        for g in grants.order_by("team__slug", "user__username")
    ]


def repositories_linkable(*, package: Package, user: Any) -> list[Any]:
    """Repositories of the package's owner that ``user`` administers (a package links only to those)."""
    from .access import repository_role
    from .models import SourceRepository

    candidates = SourceRepository.objects.filter(owner=package.namespace).order_by("name")
    return [r for r in candidates if repository_role(user, r.id) == Role.ADMIN]


def repository_for_viewer(*, owner: str, name: str, user: Any) -> tuple[Any, Role | None]:
    """A repository and the viewer's role on it. Its collaborators and the owner organization's members
    see it; to anyone else it does not exist (NameUnknown)."""
    from accounts.models import Membership

    from .access import repository_role
    from .models import SourceRepository

    repository = SourceRepository.objects.filter(owner=owner, name=name).first()
    person = _person(user)
    if repository is None or person is None:
        raise NameUnknown()
    role = repository_role(person, repository.id)
    if role is None and not Membership.objects.filter(organization__name=owner, user=person).exists():
        raise NameUnknown()
    return repository, role


def repositories_of(*, user: Any) -> list[Any]:
    """Repositories the user administers or collaborates on, and those of their organizations."""
    from django.db.models import Q

    from accounts.selectors import organizations_of

    from .models import SourceRepository

    person = _person(user)
    if person is None:
        return []
    namespaces = [person.username, *(o.name for o in organizations_of(user=person))]
    found = SourceRepository.objects.filter(Q(owner__in=namespaces) | Q(collaborators__user=person))
    return list(found.distinct().order_by("owner", "name"))


def audit_log(*, package: Package | None = None, namespace: str = "", limit: int = 100) -> list[Any]:
    """The newest audit events of one package (any of its lives) or of a whole namespace."""
    from .models import AuditEvent

    events = AuditEvent.objects.select_related("user")
    events = events.filter(package=package) if package is not None else events.filter(namespace=namespace)
    return list(events[:limit])
