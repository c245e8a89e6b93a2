"""Writes: blobs, manifests, tags, packages, grants and audit. Each function owns its (short)
transactions. Blob upload sessions are ``packages_app.uploads``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from . import events, pull_counts, tagging
from .access import ANONYMOUS, Action, Actor, can, namespace_role, package_role, repository_role
from .exceptions import (
    BlobUnknown,
    DeleteRefused,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestUnknown,
    Unsupported,
)
from .hashing import digest_bytes
from .manifests import ParsedManifest, parse_manifest
from .models import (
    AuditEvent,
    Blob,
    DownloadCount,
    Manifest,
    Package,
    PackageBlob,
    PackagePermission,
    RepositoryCollaborator,
    Role,
    SourceRepository,
    Upload,
    Visibility,
    deleted_cutoff,
    deleted_retention_days,
)
from .names import is_digest_reference, parse_digest, parse_tag
from .selectors import package_get


def package_for_write(*, name: str, user: Any = None) -> Package:
    """The package ``name``, created (private, administered by its publisher) by the first push.
    Its visibility, access inheritance and repository link follow ``new_package_fields``."""
    package = Package.objects.filter(name=name).first()
    if package is not None:
        return package
    try:
        with transaction.atomic():
            package = Package.objects.create(**new_package_fields(name=name, user=user))
    except IntegrityError:  # created by a concurrent push
        package = Package.objects.get(name=name)
    return package


def _link_blob(package: Package, blob: Blob) -> None:
    """Link ``blob`` into ``package``; a link that exists is renewed, so the garbage collector's grace
    period counts from the latest upload or mount (REGISTRY.md "Background work")."""
    if not PackageBlob.objects.filter(package=package, blob=blob).update(created_at=timezone.now()):
        PackageBlob.objects.get_or_create(package=package, blob=blob)


def blob_mount(*, name: str, digest: str, source: str, user: Any = None) -> Blob | None:
    """Link a blob the caller can read in ``source`` into ``name`` (spec "Mounting a blob").

    Returns None when there is nothing to mount; the caller then opens an ordinary session.
    """
    package = package_for_write(name=name, user=user)
    with transaction.atomic():  # the lock makes a concurrent garbage collection finish (or not start) first
        mountable = Blob.objects.select_for_update(no_key=True, of=("self",))
        blob = mountable.filter(
            digest=digest, packageblob__package__name=source, packageblob__package__deleted_at__isnull=True
        ).first()
        if blob is None:
            return None
        _link_blob(package, blob)
    return blob


def blob_unlink(*, name: str, digest: str) -> None:
    """DELETE a blob from a repository (distribution-spec "Deleting Blobs"): it stops being readable
    there at once. Refused while a live manifest of the repository uses it; a deleted (restorable)
    version does not hold it: ``version_restore`` links the blobs of what it brings back again. The
    bytes stay while any manifest, deleted ones included, refers to them (``gc.blob_candidates``)."""
    package = package_get(name=name)
    parse_digest(digest)
    link = PackageBlob.objects.filter(package=package, blob__digest=digest).first()
    if link is None:
        raise BlobUnknown(detail={"digest": digest})
    user = Manifest.objects.filter(package=package, blobs=link.blob, deleted_at__isnull=True).first()
    if user is not None:
        raise Unsupported(f"blob is used by manifest {user.digest}; delete the manifest first")
    link.delete()


def _relink_blobs(package: Package, manifest_ids: list[int]) -> None:
    """Link the blobs of restored manifests to their package again (a blob DELETE after the version
    was deleted unlinked them; their bytes were kept because the deleted manifests still refer to them)."""
    blob_ids = set(
        Manifest.blobs.through.objects.filter(manifest_id__in=manifest_ids).values_list("blob_id", flat=True)
    )
    linked = set(PackageBlob.objects.filter(package=package, blob_id__in=blob_ids).values_list("blob_id", flat=True))
    PackageBlob.objects.bulk_create(
        [PackageBlob(package=package, blob_id=b) for b in sorted(blob_ids - linked)], ignore_conflicts=True
    )


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
    """What the manifest references but the repository lacks. The links and child manifests found
    are locked until the manifest is stored, so garbage collection cannot remove them meanwhile (it
    skips locked rows); rows it removed first are missing here (MANIFEST_BLOB_UNKNOWN)."""
    wanted_blobs = parsed.required_blobs()
    digests = dict(Blob.objects.filter(digest__in=wanted_blobs).values_list("id", "digest"))
    # Only the link rows are locked (no join: a join would lock blob rows too and could deadlock
    # with an upload publishing the same blob), in id order so concurrent pushes lock alike.
    linked = (
        PackageBlob.objects.select_for_update()
        .filter(package=package, blob_id__in=list(digests))
        .order_by("blob_id")
        .values_list("blob_id", flat=True)
    )
    present = {digests[blob_id] for blob_id in linked}
    wanted_children = parsed.required_manifests()
    present |= set(
        Manifest.objects.select_for_update()
        .filter(package=package, digest__in=wanted_children, deleted_at__isnull=True)
        .order_by("id")
        .values_list("digest", flat=True)
    )
    return [d for d in wanted_blobs + wanted_children if d not in present]


def manifest_put(
    *,
    name: str,
    reference: str,
    body: bytes,
    content_type: str,
    tags: Iterable[str] = (),
    user: Any = None,
    actor: str = "",
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
        manifest = Manifest.objects.select_for_update().filter(package=package, digest=digest).first()
        created = manifest is None or manifest.deleted_at is not None
        if manifest is None:
            manifest = _manifest_create(package, digest, body, parsed)
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


def _enqueue_metadata_refresh(package_id: int) -> None:
    """Deleting or restoring a version or a tag may change which version is the newest tagged one, whose
    description, licenses and source the package page shows: a worker refreshes them after the commit."""
    events.enqueue("packages_app.tasks.refresh_package_metadata", package_id)


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
    """Count one pull of ``manifest`` for today (in memory, written in batches: ``pull_counts``)."""
    pull_counts.record(manifest_id=manifest.id)


def manifest_delete(*, name: str, digest: str, actor: Actor | None = None) -> None:
    """DELETE by digest: the version (the manifest and every tag pointing at it), soft-deleted by
    ``version_delete`` as the pages and the REST API do. The caller has authorized ``actor`` already."""
    package = package_get(name=name)
    parse_digest(digest)
    manifest = Manifest.objects.filter(package=package, digest=digest, deleted_at__isnull=True).first()
    if manifest is None:
        raise ManifestUnknown(detail={"digest": digest})
    version_delete(manifest=manifest, actor=actor or ANONYMOUS, authorized=True)


def tag_delete(*, name: str, tag: str, actor: Actor | None = None) -> None:
    """DELETE by tag: only the tag; the manifest stays pullable by digest."""
    package = package_get(name=name)
    manifest = Manifest.objects.filter(package=package, tags__name=tag).first()
    who = actor or ANONYMOUS
    if manifest is None or not tagging.tag_remove(package=package, name=tag, user=who.user):
        raise ManifestUnknown(detail={"tag": tag[:200]})
    audit_record(package=package, user=who.user, actor=who.label, action=AuditEvent.Action.DELETE_TAG, detail=tag)
    _enqueue_metadata_refresh(package.id)
    data = events.version_data(manifest, _all_tags(manifest)) | {"previous": {tag: manifest.digest}}
    events.emit(events.TAG_UPDATED, package=package, actor=who.label, data=data)


def _all_tags(manifest: Manifest) -> list[str]:
    return list(manifest.tags.order_by("name").values_list("name", flat=True))


# --- package settings ---------------------------------------------------------------------------


def package_set_visibility(*, package: Package, user: Any, visibility: str) -> Package:
    """Change visibility: admins only; as on ghcr.io, a public package cannot become private again.
    An organization's members (not its owners) may only choose the visibilities it allows them."""
    if package_role(user, package) != Role.ADMIN:
        raise PermissionDenied("Only the package's admins can change its visibility.")
    if visibility not in Visibility.values:
        raise ValidationError("Choose private, internal or public.", code="visibility")
    if package.visibility == Visibility.PUBLIC and visibility != Visibility.PUBLIC:
        raise ValidationError("A public package cannot be made private or internal again.", code="public")
    if visibility != package.visibility and visibility not in allowed_visibilities(
        namespace=package.namespace, user=user
    ):
        raise ValidationError(f"This organization does not let members make packages {visibility}.", code="policy")
    if visibility == Visibility.INTERNAL and not _is_organization(package.namespace):
        raise ValidationError("Only an organization's packages can be internal.", code="visibility")
    old = package.visibility
    package.visibility = visibility
    package.save(update_fields=["visibility", "updated_at"])
    audit_record(package=package, user=user, action=AuditEvent.Action.VISIBILITY, detail=f"{old} → {visibility}")
    if old != visibility:
        data = {"visibility_from": old}
        events.emit(events.VISIBILITY_CHANGED, package=package, actor=user.username, data=data)
    return package


# --- package management: policy, access, repositories, delete and restore, audit ------------------
# REGISTRY.md "Packages, visibility and access" and "Deleting". Checks of who may do what ask
# ``packages_app.access``; every change is written to the audit log.

DOWNLOADS_DELETE_LIMIT = 5000


def _is_organization(namespace: str) -> bool:
    from accounts.models import Organization

    return Organization.objects.filter(name=namespace).exists()


def allowed_visibilities(*, namespace: str, user: Any) -> list[str]:
    """The visibilities ``user`` may give a package of ``namespace``: all of them for a user's own
    namespace and an organization's owners; for its members, what the organization allows."""
    from accounts.models import Organization

    organization = Organization.objects.filter(name=namespace).first()
    if organization is None or namespace_role(user, namespace) == Role.ADMIN:
        return list(Visibility.values)
    return [v for v in Visibility.values if v in organization.member_visibilities]


def new_package_fields(*, name: str, user: Any) -> dict[str, Any]:
    """A new package's row: private unless the organization lets its members create only less private
    ones; inheriting access as the organization chose; linked to ``OWNER/REPO`` for a three-part name
    ``OWNER/REPO/IMAGE`` (the older GitHub Packages Docker registry) when that repository exists."""
    from accounts.models import Organization

    namespace = name.split("/", 1)[0]
    fields: dict[str, Any] = {"name": name, "namespace": namespace, "created_by": user}
    organization = Organization.objects.filter(name=namespace).first()
    if organization is not None:
        fields["inherit_access"] = organization.inherit_access_by_default
        if user is not None and namespace_role(user, namespace) != Role.ADMIN and organization.member_visibilities:
            fields["visibility"] = next(v for v in Visibility.values if v in organization.member_visibilities)
    parts = name.split("/")
    if len(parts) == 3:
        fields["repository"] = SourceRepository.objects.filter(owner=parts[0], name=parts[1]).first()
    return fields


def _pushed(digest: str, tags: list[str]) -> str:
    return f"{digest} ({', '.join(tags)})" if tags else digest


def audit_record(*, package: Package, action: str, user: Any = None, actor: str = "", detail: str = "") -> AuditEvent:
    """One line of the audit log: who (``actor`` names an automation token or anonymous caller) did what."""
    who = actor or (user.username if user is not None else "anonymous")
    return AuditEvent.objects.create(
        package=package,
        namespace=package.namespace,
        package_name=package.name,
        user=user,
        actor=who[:255],
        action=action,
        detail=detail[:1000],
    )


def _require_admin(package: Package, user: Any, what: str) -> None:
    if user is None or package_role(user, package) != Role.ADMIN:
        raise PermissionDenied(f"Only the package's admins can {what}.")


# --- access grants ------------------------------------------------------------------------------


def _grantee(package: Package, *, username: str = "", team: str = "") -> dict[str, Any]:
    """The user or team an access grant names. A private package of an organization can only be
    shared with its members (its teams are always its members)."""
    from django.contrib.auth import get_user_model

    from accounts.models import Membership, Team

    if bool(username) == bool(team):
        raise ValidationError("Name a user or a team.", code="grantee")
    if team:
        found = Team.objects.filter(organization__name=package.namespace, slug=team).first()
        if found is None:
            raise ValidationError(f"{package.namespace} has no team “{team}”.", code="unknown_team")
        return {"team": found}
    user = get_user_model().objects.filter(username=username.strip().lower(), is_active=True).first()
    if user is None:
        raise ValidationError(f"There is no user named “{username}”.", code="unknown_user")
    organization = _is_organization(package.namespace)
    member = Membership.objects.filter(organization__name=package.namespace, user=user).exists()
    if organization and package.visibility == Visibility.PRIVATE and not member:
        raise ValidationError(
            f"{user.username} is not a member of {package.namespace}: a private package of an organization "
            "can only be shared with its members.",
            code="not_member",
        )
    return {"user": user}


def _role(value: str | int) -> Role:
    names = {"read": Role.READ, "write": Role.WRITE, "admin": Role.ADMIN}
    if isinstance(value, str) and value.lower() in names:
        return names[value.lower()]
    if isinstance(value, int) and value in Role.values:
        return Role(value)
    raise ValidationError("Choose read, write or admin.", code="role")


def access_grant(
    *, package: Package, user: Any, role: str | int, username: str = "", team: str = ""
) -> PackagePermission:
    """Give a user or a team read / write / admin on ``package`` (replacing a role they held). Admins only."""
    _require_admin(package, user, "change who has access")
    grantee = _grantee(package, username=username, team=team)
    chosen = _role(role)
    permission, _ = PackagePermission.objects.update_or_create(package=package, **grantee, defaults={"role": chosen})
    name = username or f"team {team}"
    audit_record(package=package, user=user, action=AuditEvent.Action.ACCESS, detail=f"{name}: {chosen.label.lower()}")
    return permission


def access_revoke(*, package: Package, user: Any, username: str = "", team: str = "") -> None:
    """Remove a user's or team's role on ``package``. Admins only."""
    _require_admin(package, user, "change who has access")
    filters = {"user__username": username} if username else {"team__slug": team}
    deleted, _ = PackagePermission.objects.filter(package=package, **filters).delete()
    if not deleted:
        raise ValidationError(f"{username or team} has no access of its own to remove.", code="no_grant")
    name = username or f"team {team}"
    audit_record(package=package, user=user, action=AuditEvent.Action.ACCESS, detail=f"{name}: removed")


# --- source repositories ------------------------------------------------------------------------

REPOSITORY_NAME_RE = r"[a-z0-9]+(?:[._-][a-z0-9]+)*"


def repository_create(*, owner: str, name: str, user: Any, description: str = "") -> SourceRepository:
    """A source repository in ``owner``'s namespace, created by one of its admins (the user themselves,
    or an organization's owners)."""
    import re

    if namespace_role(user, owner) != Role.ADMIN:
        raise PermissionDenied("Only the namespace's owners can create repositories there.")
    name = name.strip()
    if not re.fullmatch(REPOSITORY_NAME_RE, name) or len(name) > 100:
        raise ValidationError("Use lowercase letters, digits and . _ - between them.", code="name")
    if SourceRepository.objects.filter(owner=owner, name=name).exists():
        raise ValidationError(f"{owner}/{name} already exists.", code="taken")
    return SourceRepository.objects.create(owner=owner, name=name, description=description.strip(), created_by=user)


def _require_repository_admin(repository: SourceRepository, user: Any) -> None:
    if repository_role(user, repository.id) != Role.ADMIN:
        raise PermissionDenied("Only the repository's admins can do that.")


def collaborator_set(
    *, repository: SourceRepository, user: Any, username: str, role: str | int
) -> RepositoryCollaborator:
    """Add a collaborator or change their role. Repository admins only."""
    from django.contrib.auth import get_user_model

    _require_repository_admin(repository, user)
    person = get_user_model().objects.filter(username=username.strip().lower(), is_active=True).first()
    if person is None:
        raise ValidationError(f"There is no user named “{username}”.", code="unknown_user")
    collaborator, _ = RepositoryCollaborator.objects.update_or_create(
        repository=repository, user=person, defaults={"role": _role(role)}
    )
    return collaborator


def collaborator_remove(*, repository: SourceRepository, user: Any, username: str) -> None:
    _require_repository_admin(repository, user)
    RepositoryCollaborator.objects.filter(repository=repository, user__username=username).delete()


def repository_for_source_url(source_url: str) -> SourceRepository | None:
    """The repository a source label names: ``<site>/<owner>/<repo>`` (optionally ``.git`` or a trailing
    slash), the site being one of ``WHARF_SITE_HOSTS`` (any host when that is empty)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(source_url.strip())
    except ValueError:
        return None
    hosts = settings.WHARF_SITE_HOSTS
    if parts.scheme not in {"http", "https"} or (hosts and parts.netloc.lower() not in hosts):
        return None
    segments = [p for p in parts.path.strip("/").removesuffix(".git").split("/") if p]
    if len(segments) != 2:
        return None
    return SourceRepository.objects.filter(owner=segments[0].lower(), name=segments[1].lower()).first()


def package_link_repository(
    *, package: Package, repository: SourceRepository | None, user: Any = None, actor: str = ""
) -> Package:
    """Link ``package`` to a repository of its own namespace (None: unlink). ``user`` None is the system
    (a source label, an automation token's push); a person must administer the package and the repository."""
    if user is not None:
        _require_admin(package, user, "change its repository")
        if repository is not None:
            _require_repository_admin(repository, user)
    if repository is not None and repository.owner != package.namespace:
        raise ValidationError("A package can only be linked to a repository of its own owner.", code="owner")
    if package.repository_id == (repository.id if repository else None):
        return package
    package.repository = repository
    Package.all_objects.filter(id=package.id).update(repository=repository)
    detail = f"linked to {repository.full_name}" if repository else "unlinked"
    audit_record(
        package=package,
        user=user,
        actor=actor or ("system" if user is None else ""),
        action=AuditEvent.Action.LINK,
        detail=detail,
    )
    return package


def package_link_from_source_label(*, package: Package, source_url: str) -> None:
    """Called by ``metadata.package_link_source_repository``: an unlinked package whose source label
    names a repository of its owner this site knows is linked to it."""
    if package.repository_id is not None or not source_url:
        return
    repository = repository_for_source_url(source_url)
    if repository is not None and repository.owner == package.namespace:
        package_link_repository(package=package, repository=repository, actor=f"source label {source_url[:200]}")


def package_set_inheritance(*, package: Package, user: Any, inherit: bool) -> Package:
    """Turn inheriting the repository's access on or off; takes effect at once (``access.package_role``)."""
    _require_admin(package, user, "change how it inherits access")
    package.inherit_access = inherit
    Package.all_objects.filter(id=package.id).update(inherit_access=inherit)
    state = "on" if inherit else "off"
    audit_record(
        package=package, user=user, action=AuditEvent.Action.ACCESS, detail=f"inherit repository access: {state}"
    )
    return package


def automation_publish(*, name: str, repository_id: int) -> Package:
    """An automation token pushes ``name``: the package is created if need be and linked to the token's
    repository (REGISTRY.md "Accounts, tokens and login")."""
    package = package_for_write(name=name)
    if package.repository_id is None:
        repository = SourceRepository.objects.filter(id=repository_id).first()
        if repository is not None and repository.owner == package.namespace:
            package_link_repository(
                package=package, repository=repository, actor=f"automation token of {repository.full_name}"
            )
    return package


# --- delete and restore -------------------------------------------------------------------------


def _downloads(manifests: Any) -> int:
    return int(DownloadCount.objects.filter(manifest__in=manifests).aggregate(n=Sum("count"))["n"] or 0)


def _check_deletable(package: Package, manifests: Any) -> None:
    """As on ghcr.io, a public package or version with more than 5,000 downloads cannot be deleted."""
    if package.visibility == Visibility.PUBLIC and _downloads(manifests) > DOWNLOADS_DELETE_LIMIT:
        raise DeleteRefused()


def _authorize_delete(actor: Actor, package: Package) -> None:
    if not can(actor, package.name, Action.DELETE):
        raise PermissionDenied("Deleting needs admin on the package (and a token with delete:packages).")


def _own_children(manifest: Manifest) -> list[int]:
    """Platform images of an index that no other live index of the package uses: they go with it."""
    children = Manifest.objects.filter(parents=manifest, deleted_at__isnull=True)
    others = Manifest.objects.filter(deleted_at__isnull=True).exclude(id=manifest.id)
    return [c.id for c in children if not others.filter(children=c).exists() and not c.tags.exists()]


def version_delete(*, manifest: Manifest, actor: Actor, authorized: bool = False) -> Manifest:
    """Soft-delete a version: the manifest (and the platform images only it uses) stop being pullable at
    once; its tags are removed and remembered for a restore within WHARF_DELETED_RETENTION_DAYS. ``authorized``: the
    registry already checked ``actor`` (v2 DELETE); the pages and the REST API let this check it."""
    package = manifest.package
    if not authorized:
        _authorize_delete(actor, package)
    _check_deletable(package, [manifest.id])
    now = timezone.now()
    with transaction.atomic():
        ids = [manifest.id, *_own_children(manifest)]
        tags = tagging.tags_remove_from(package=package, manifest_ids=ids, user=actor.user)
        Manifest.objects.filter(id=manifest.id).update(deleted_at=now, deleted_tags=tags)
        Manifest.objects.filter(id__in=ids[1:]).update(deleted_at=now, deleted_tags=[])
        audit_record(
            package=package,
            user=actor.user,
            actor=actor.label,
            action=AuditEvent.Action.DELETE_VERSION,
            detail=_pushed(manifest.digest, tags),
        )
        _enqueue_metadata_refresh(package.id)
        events.emit(
            events.VERSION_DELETED, package=package, actor=actor.label, data=events.version_data(manifest, tags)
        )
    manifest.refresh_from_db()
    return manifest


def _restorable(deleted_at: Any) -> bool:
    return deleted_at is not None and deleted_at > deleted_cutoff()


def _expired(what: str) -> ValidationError:
    return ValidationError(
        f"{what} can be restored for {deleted_retention_days()} days after they were deleted.", code="expired"
    )


def version_restore(*, manifest: Manifest, actor: Actor) -> Manifest:
    """Bring back a version deleted within WHARF_DELETED_RETENTION_DAYS with its tags (a tag pushed again since, to
    another version, stays where it is) and the platform images deleted with it."""
    package = manifest.package
    _authorize_delete(actor, package)
    if manifest.deleted_at is None:
        raise ValidationError("This version is not deleted.", code="not_deleted")
    if not _restorable(manifest.deleted_at):
        raise _expired("Versions")
    with transaction.atomic():
        # Conditional on the deletion checked above: a purge (gc.purge_deleted) that got there first wins.
        if not Manifest.objects.filter(id=manifest.id, deleted_at=manifest.deleted_at).update(
            deleted_at=None, deleted_tags=[]
        ):
            raise _expired("Versions")
        children = Manifest.objects.filter(package=package, deleted_at=manifest.deleted_at, parents=manifest)
        restored = [manifest.id, *children.values_list("id", flat=True)]
        Manifest.objects.filter(id__in=restored[1:]).update(deleted_at=None)
        _relink_blobs(package, restored)
        back = tagging.tags_restore(package=package, manifest=manifest, names=manifest.deleted_tags)
        audit_record(
            package=package,
            user=actor.user,
            actor=actor.label,
            action=AuditEvent.Action.RESTORE_VERSION,
            detail=_pushed(manifest.digest, manifest.deleted_tags),
        )
        _enqueue_metadata_refresh(package.id)
        events.emit(
            events.VERSION_RESTORED, package=package, actor=actor.label, data=events.version_data(manifest, back)
        )
    manifest.refresh_from_db()
    return manifest


def package_delete(*, package: Package, actor: Actor) -> Package:
    """Soft-delete a whole package: nothing of it is pullable or visible at once, its name is free for
    a new package, and it can be restored within WHARF_DELETED_RETENTION_DAYS unless the name is reused
    meanwhile; after that ``gc.purge_deleted`` removes it for good."""
    _authorize_delete(actor, package)
    _check_deletable(package, Manifest.objects.filter(package=package))
    package.deleted_at, package.deleted_by = timezone.now(), actor.user
    with transaction.atomic():
        Package.all_objects.filter(id=package.id).update(deleted_at=package.deleted_at, deleted_by=actor.user)
        Upload.objects.filter(package=package).delete()  # sessions of a deleted package cannot finish
        audit_record(package=package, user=actor.user, actor=actor.label, action=AuditEvent.Action.DELETE_PACKAGE)
        events.emit(events.PACKAGE_DELETED, package=package, actor=actor.label)
    return package


def package_restore(*, package: Package, actor: Actor) -> Package:
    """Restore a package deleted within WHARF_DELETED_RETENTION_DAYS, unless a package of the same name was
    created since (REGISTRY.md "Deleting"). Its admins (as they were when it was deleted) may do it."""
    if actor.scopes is not None and "delete:packages" not in actor.scopes:
        raise PermissionDenied("Restoring needs a token with delete:packages.")
    _require_admin(package, actor.user, "restore it")
    if package.deleted_at is None:
        raise ValidationError("This package is not deleted.", code="not_deleted")
    if not _restorable(package.deleted_at):
        raise _expired("Packages")
    reused = Package.all_objects.filter(name=package.name, created_at__gt=package.deleted_at).exclude(id=package.id)
    if reused.exists() or Package.objects.filter(name=package.name).exists():
        raise ValidationError(f"The name {package.name} was used again since: it cannot be restored.", code="reused")
    try:
        with transaction.atomic():
            # Conditional on the deletion checked above: a purge (gc.purge_deleted) that got there first wins.
            if not Package.all_objects.filter(id=package.id, deleted_at=package.deleted_at).update(
                deleted_at=None, deleted_by=None
            ):
                raise _expired("Packages")
            audit_record(package=package, user=actor.user, actor=actor.label, action=AuditEvent.Action.RESTORE_PACKAGE)
            events.emit(events.PACKAGE_RESTORED, package=package, actor=actor.label)
    except IntegrityError:  # a push created the name at this very moment
        raise ValidationError(
            f"The name {package.name} was used again since: it cannot be restored.", code="reused"
        ) from None
    package.deleted_at = package.deleted_by = None
    return package
