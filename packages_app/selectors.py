"""Reads: packages, blobs, manifests, tags, referrers and upload sessions, as the protocol sees them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Collate
from django.utils import timezone

from accounts.models import Organization
from accounts.roles import Viewer
from accounts.roles import person as signed_in
from repositories.models import RepositoryCollaborator

from . import sql as statements
from .access import Seen, inherits_access, package_role
from .exceptions import BlobUnknown, BlobUploadUnknown, ManifestUnknown, NameUnknown, RegistryError
from .kinds import deleted_versions, versions
from .manifests import IMAGE_TYPES
from .models import (
    AuditEvent,
    Blob,
    Manifest,
    Package,
    PackagePermission,
    Role,
    Tag,
    Upload,
    Visibility,
    deleted_cutoff,
)
from .names import is_digest_reference, list_marker, parse_digest
from .reviews import due_soon_cutoff
from .tagged_referrers import schema_index_descriptors, tagged_referrers


def package_get(*, name: str) -> Package:
    try:
        return Package.objects.get(name=name)
    except Package.DoesNotExist:
        raise NameUnknown() from None


def _require_live(name: str) -> None:
    """NAME_UNKNOWN unless the live package ``name`` exists (its id alone: the push's blob HEADs miss)."""
    if Package.objects.id_of(name) is None:
        raise NameUnknown()


def _valid_digest_in(name: str, digest: str) -> None:
    """Check ``digest``'s grammar; a missing package is reported first (NAME_UNKNOWN before
    DIGEST_INVALID, as when the package is looked up on its own)."""
    try:
        parse_digest(digest)
    except RegistryError:
        _require_live(name)
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
        sql = statements.MANIFEST_BY_DIGEST
    else:
        sql = statements.MANIFEST_BY_TAG
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
    _require_live(name)
    return ManifestUnknown(detail={"reference": reference[:200]})


def manifest_get_by_name(*, name: str, reference: str) -> PulledManifest:
    """``manifest_find``, raising when there is none."""
    manifest = manifest_find(name=name, reference=reference)
    if manifest is None:
        raise manifest_missing(name=name, reference=reference)
    return manifest


def blob_find(*, name: str, digest: str) -> tuple[Blob, Seen] | None:
    """The blob ``digest`` as the live package ``name`` links it, with the package's id and visibility,
    in one query written out; the blob is annotated ``review_due_soon`` (``reviews``). None also, without
    a query, for an invalid digest (``blob_missing`` says why)."""
    if not _valid_digest(digest):
        return None
    with connection.cursor() as cursor:
        cursor.execute(statements.BLOB_BY_NAME, [due_soon_cutoff(), digest, name])
        row = cursor.fetchone()
    if row is None:
        return None
    blob = Blob(id=row[0], digest=digest, size=row[1], storage_key=row[2])
    blob.review_due_soon = row[5]  # type: ignore[attr-defined]
    return blob, Seen(row[3], row[4])


def blob_missing(*, name: str, digest: str) -> RegistryError:
    """Why ``blob_find`` found nothing: NAME_UNKNOWN first, then DIGEST_INVALID, then BLOB_UNKNOWN."""
    _valid_digest_in(name, digest)
    _require_live(name)
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


def upload_get(*, name: str, upload_id: str, user: User | None = None) -> Upload:
    """``upload_find``, raising BLOB_UPLOAD_UNKNOWN when there is no such session."""
    found = upload_find(name=name, upload_id=upload_id, user=user)
    if found is None:
        raise BlobUploadUnknown()
    return found[0]


def upload_find(*, name: str, upload_id: str, user: User | None = None) -> tuple[Upload, Seen] | None:
    """An upload session, only through the repository and for the user that opened it; to anyone
    else it does not exist. A session idle longer than WHARF_UPLOAD_TIMEOUT does not exist either,
    whether or not the expiry job has removed it yet. With it, its package's id and visibility."""
    try:
        key = uuid.UUID(upload_id)
    except ValueError:
        return None
    now = timezone.now()
    since = now - timedelta(seconds=settings.WHARF_UPLOAD_TIMEOUT)
    params = [
        statements.prepared(Upload, "id", key),
        name,
        statements.prepared(Upload, "updated_at", since),
        statements.prepared(Upload, "lease_until", now),
    ]
    if user is not None:
        found = Upload.objects.raw(statements.UPLOAD_OF_USER, [*params, user.pk])
    else:
        found = Upload.objects.raw(statements.UPLOAD_WITHOUT_USER, params)
    upload = next(iter(found), None)
    if upload is None:
        return None
    return upload, Seen(upload.package_id, upload.package_visibility)  # type: ignore[attr-defined]  # the SQL's


# --- package pages ------------------------------------------------------------------------------
# What the web pages show (REGISTRY.md "Package pages"). Who may see what is decided by
# ``access.package_role`` alone; these functions only ask it.


def package_for_page(*, name: str, user: Viewer | None) -> tuple[Package, Role]:
    """The package and the viewer's role on it. NameUnknown, exactly as for a package that does not
    exist, when the viewer cannot read it (REGISTRY.md "Packages, visibility and access")."""
    package = Package.objects.filter(name=name).first()
    role = package_role(signed_in(user), package) if package is not None else None
    if package is None or role is None:
        raise NameUnknown()
    return package, role


def _readable(user: Viewer | None, packages: Iterable[Package]) -> list[Package]:
    person = signed_in(user)
    return [p for p in packages if package_role(person, p) is not None]


def public_packages(*, query: str = "", limit: int = 50) -> list[Package]:
    """Public packages, newest first, whose name contains ``query``."""
    packages = Package.objects.filter(visibility=Visibility.PUBLIC, name__icontains=query)
    return list(packages.order_by("-updated_at", "name")[:limit])


# Public names for the presenters (packages_app.pages).


def owner_is_organization(*, namespace: str) -> bool:
    return Organization.objects.filter(name=namespace).exists()


# --- package management (settings, the REST API, repositories, audit log) --------------------------
# A package the caller cannot read, a deleted one and one that never existed are all NameUnknown.


def package_readable(*, name: str, user: Viewer | None) -> tuple[Package, Role]:
    """A live package ``user`` may read, with their role; NameUnknown otherwise."""
    return package_for_page(name=name, user=user)


def packages_readable(*, namespaces: list[str], user: Viewer | None, visibility: str = "") -> list[Package]:
    """The live packages of ``namespaces`` that ``user`` may read, by name; ``visibility`` filters."""
    packages = Package.objects.filter(namespace__in=namespaces).select_related("repository").order_by("name")
    if visibility:
        packages = packages.filter(visibility=visibility)
    return _readable(user, packages)


def package_deleted(*, name: str, user: Viewer | None) -> Package:
    """The most recently deleted package ``name`` (within WHARF_DELETED_RETENTION_DAYS) that ``user`` administered."""
    cutoff = deleted_cutoff()
    package = Package.all_objects.filter(name=name, deleted_at__gt=cutoff).order_by("-deleted_at").first()
    admin = signed_in(user)
    if package is None or admin is None or package_role(admin, package) != Role.ADMIN:
        raise NameUnknown()
    return package


def packages_deleted(*, namespace: str, user: Viewer | None) -> list[Package]:
    """Packages of ``namespace`` deleted within WHARF_DELETED_RETENTION_DAYS that ``user`` may restore
    (their admins)."""
    cutoff = deleted_cutoff()
    deleted = Package.all_objects.filter(namespace=namespace, deleted_at__gt=cutoff).order_by("-deleted_at")
    person = signed_in(user)
    return [p for p in deleted if person is not None and package_role(person, p) == Role.ADMIN]


def version_rows(*, package: Package, state: str = "active") -> QuerySet[Manifest]:
    """The REST API's versions: ``active`` (every live version) or ``deleted`` (restorable)."""
    return deleted_versions(package, deleted_cutoff()) if state == "deleted" else versions(package)


def version_get(*, package: Package, version_id: int) -> Manifest:
    """A version of ``package`` by id, live or deleted within WHARF_DELETED_RETENTION_DAYS; ManifestUnknown
    for any other id (another package's version is the same as a missing one)."""
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


def audit_log(*, package: Package | None = None, namespace: str = "", limit: int = 100) -> list[Any]:
    """The newest audit events of one package (any of its lives) or of a whole namespace."""
    events = AuditEvent.objects.select_related("user")
    events = events.filter(package=package) if package is not None else events.filter(namespace=namespace)
    return list(events[:limit])
