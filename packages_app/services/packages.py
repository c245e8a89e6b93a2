"""Packages: the row a first push creates, visibility, and deleting / restoring a whole package
(REGISTRY.md "Packages, visibility and access" and "Deleting"). Who may do what is asked of
``packages_app.access``; every change is written to the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import Organization
from accounts.roles import namespace_role
from repositories.models import SourceRepository

from .. import events
from ..access import Action, Actor, can, require_package_admin
from ..audit import audit_record
from ..exceptions import DeleteRefused, InvalidInput, PermissionRefused
from ..models import (
    AuditEvent,
    DownloadCount,
    Manifest,
    Package,
    Role,
    Upload,
    Visibility,
    deleted_cutoff,
    deleted_retention_days,
)


def package_for_write(*, name: str, user: User | None = None, repository_id: int | None = None) -> Package:
    """The package ``name``, created (private, administered by its publisher) by the first push.
    Its visibility, access inheritance and repository link follow ``new_package_fields``.

    ``repository_id``: the push is an automation token's (``Actor.repository_id``); the package it
    creates is linked to the token's repository in the same INSERT, so the token may write it from the
    next request on (``access.automation_role``), and the link is audited. This, not the registry's auth
    gate, is where an automation token publishes: requests that only read (an upload's status) write
    nothing."""
    package = Package.objects.named(name)
    if package is not None:
        return package
    fields = new_package_fields(name=name, user=user, repository_id=repository_id)
    try:
        with transaction.atomic():
            package = Package.objects.create(**fields)
    except IntegrityError:  # created by a concurrent push (which linked it, if it was this token's)
        return Package.objects.get(name=name)
    if repository_id is not None and package.repository is not None and package.repository.id == repository_id:
        full_name = package.repository.full_name
        audit_record(
            package=package,
            actor=f"automation token of {full_name}",
            action=AuditEvent.Action.LINK,
            detail=f"linked to {full_name}",
        )
    return package


def package_id_for_write(*, name: str, user: User | None = None, repository_id: int | None = None) -> int:
    """``package_for_write``'s id, without loading the row when the package exists (every upload POST)."""
    found = Package.objects.id_of(name)
    return found if found is not None else package_for_write(name=name, user=user, repository_id=repository_id).id


def new_package_fields(*, name: str, user: User | None, repository_id: int | None = None) -> dict[str, Any]:
    """A new package's row: private unless the organization lets its members create only less private
    ones; inheriting access as the organization chose; linked to the pushing automation token's
    repository (``repository_id``) when it belongs to the package's owner, else to ``OWNER/REPO`` for a
    three-part name ``OWNER/REPO/IMAGE`` (the older GitHub Packages Docker registry) when that repository
    exists."""
    namespace = name.split("/", 1)[0]
    fields: dict[str, Any] = {"name": name, "namespace": namespace, "created_by": user}
    organization = Organization.objects.filter(name=namespace).first()
    if organization is not None:
        fields["inherit_access"] = organization.inherit_access_by_default
        if user is not None and namespace_role(user, namespace) != Role.ADMIN and organization.member_visibilities:
            fields["visibility"] = next(v for v in Visibility.values if v in organization.member_visibilities)
    parts = name.split("/")
    publisher = SourceRepository.objects.filter(id=repository_id, owner=namespace).first() if repository_id else None
    if publisher is not None:
        fields["repository"] = publisher
    elif len(parts) == 3:
        fields["repository"] = SourceRepository.objects.filter(owner=parts[0], name=parts[1]).first()
    return fields


def _is_organization(namespace: str) -> bool:
    return Organization.objects.filter(name=namespace).exists()


def allowed_visibilities(*, namespace: str, user: User | None) -> list[str]:
    """The visibilities ``user`` may give a package of ``namespace``: all of them for a user's own
    namespace and an organization's owners; for its members, what the organization allows."""
    organization = Organization.objects.filter(name=namespace).first()
    if organization is None or namespace_role(user, namespace) == Role.ADMIN:
        return list(Visibility.values)
    return [v for v in Visibility.values if v in organization.member_visibilities]


def package_set_visibility(*, package: Package, user: User | None, visibility: str) -> Package:
    """Change visibility: admins only; as on ghcr.io, a public package cannot become private again.
    An organization's members (not its owners) may only choose the visibilities it allows them."""
    admin = require_package_admin(package, user, "change its visibility")
    if visibility not in Visibility.values:
        raise InvalidInput("Choose private, internal or public.", code="visibility")
    if package.visibility == Visibility.PUBLIC and visibility != Visibility.PUBLIC:
        raise InvalidInput("A public package cannot be made private or internal again.", code="public")
    if visibility != package.visibility and visibility not in allowed_visibilities(
        namespace=package.namespace, user=admin
    ):
        raise InvalidInput(f"This organization does not let members make packages {visibility}.", code="policy")
    if visibility == Visibility.INTERNAL and not _is_organization(package.namespace):
        raise InvalidInput("Only an organization's packages can be internal.", code="visibility")
    old = package.visibility
    package.visibility = visibility
    package.save(update_fields=["visibility", "updated_at"])
    audit_record(package=package, user=admin, action=AuditEvent.Action.VISIBILITY, detail=f"{old} → {visibility}")
    if old != visibility:
        data = {"visibility_from": old}
        events.emit(events.VISIBILITY_CHANGED, package=package, actor=admin.username, data=data)
    return package


DOWNLOADS_DELETE_LIMIT = 5000


def _downloads(manifests: Any) -> int:
    return int(DownloadCount.objects.filter(manifest__in=manifests).aggregate(n=Sum("count"))["n"] or 0)


def _check_deletable(package: Package, manifests: Any) -> None:
    """As on ghcr.io, a public package or version with more than 5,000 downloads cannot be deleted."""
    if package.visibility == Visibility.PUBLIC and _downloads(manifests) > DOWNLOADS_DELETE_LIMIT:
        raise DeleteRefused()


def _authorize_delete(actor: Actor, package: Package) -> None:
    if not can(actor, package.name, Action.DELETE):
        raise PermissionRefused("Deleting needs admin on the package (and a token with delete:packages).")


def _restorable(deleted_at: Any) -> bool:
    return deleted_at is not None and deleted_at > deleted_cutoff()


def _expired(what: str) -> InvalidInput:
    return InvalidInput(
        f"{what} can be restored for {deleted_retention_days()} days after they were deleted.", code="expired"
    )


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
        raise PermissionRefused("Restoring needs a token with delete:packages.")
    require_package_admin(package, actor.user, "restore it")
    if package.deleted_at is None:
        raise InvalidInput("This package is not deleted.", code="not_deleted")
    if not _restorable(package.deleted_at):
        raise _expired("Packages")
    reused = Package.all_objects.filter(name=package.name, created_at__gt=package.deleted_at).exclude(id=package.id)
    if reused.exists() or Package.objects.filter(name=package.name).exists():
        raise InvalidInput(f"The name {package.name} was used again since: it cannot be restored.", code="reused")
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
        raise InvalidInput(
            f"The name {package.name} was used again since: it cannot be restored.", code="reused"
        ) from None
    package.deleted_at = package.deleted_by = None
    return package
