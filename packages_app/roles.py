"""The facts a user's role on a package name is decided from, gathered the same way whether the
package exists or not (issue 9, point 14: role lookups that ran only for an existing package let an
outsider tell a private package from a missing one by time).

``gather(user, name)`` always runs the same queries, keyed by the name: the package (with its linked
repository), the user's membership of the namespace's organization (with the organization), the best
explicit grant on a live package of that name, and the best collaborator role on a repository linked
to it. ``role_on`` and ``may_create`` then decide without touching the database — except for a
package linked to a repository of another namespace, whose owner's admins are looked up.

``packages_app.access`` is where these rules are used; this module only holds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Max, Q

from accounts.models import Membership
from repositories.models import RepositoryCollaborator

from .models import Package, PackagePermission, Role, Visibility


@dataclass(frozen=True)
class Facts:
    package: Package | None
    membership: Any = None  # accounts.Membership of the namespace's organization (None: none, or own namespace)
    granted: int | None = None  # the best explicit grant to the user or their teams
    collaborator: int | None = None  # the best collaborator role on the linked repository


def _membership(user: User, namespace: str) -> Membership | None:

    if user.username == namespace:
        return None
    return Membership.objects.filter(organization__name=namespace, user=user).select_related("organization").first()


def _best(queryset: Any) -> int | None:
    return queryset.aggregate(best=Max("role"))["best"]  # type: ignore[no-any-return]


def gather(user: User | None, name: str) -> Facts:
    """Every fact about ``user`` and ``name``, in the same four queries whether ``name`` exists or not."""
    package = Package.objects.filter(name=name).select_related("repository").first()
    if user is None:
        return Facts(package)
    live = {"package__name": name, "package__deleted_at__isnull": True}
    granted = PackagePermission.objects.filter(**live).filter(Q(user=user) | Q(team__members=user))
    linked = {"repository__packages__name": name, "repository__packages__deleted_at__isnull": True}
    collaborator = RepositoryCollaborator.objects.filter(user=user, **linked)
    return Facts(package, _membership(user, name.split("/", 1)[0]), _best(granted), _best(collaborator))


def gather_for(user: User | None, package: Package) -> Facts:
    """The facts for a package already loaded (pages, lists): only the lookups its rules need."""
    if user is None:
        return Facts(package)
    membership = _membership(user, package.namespace)
    if inherits_access(package):
        collaborator = RepositoryCollaborator.objects.filter(user=user, repository_id=package.repository_id)
        return Facts(package, membership, collaborator=_best(collaborator))
    granted = PackagePermission.objects.filter(package=package).filter(Q(user=user) | Q(team__members=user))
    return Facts(package, membership, granted=_best(granted))


def inherits_access(package: Package) -> bool:
    """Whether the package's own access list is replaced by its linked repository's access."""
    return package.repository_id is not None and package.inherit_access


def _is_owner(membership: Any) -> bool:

    return membership is not None and membership.role == Membership.Role.OWNER


def _namespace_admin(user: User, namespace: str, facts: Facts) -> bool:
    """Admin of ``namespace``: its user, or an owner of the organization (looked up again only for a
    namespace other than the package's)."""
    if user.username == namespace:
        return True
    package = facts.package
    if package is not None and namespace == package.namespace:
        return _is_owner(facts.membership)
    return _is_owner(_membership(user, namespace))


def role_on(user: User | None, facts: Facts) -> Role | None:
    """The strongest role ``user`` (None: anonymous) holds on ``facts.package`` (REGISTRY.md "Packages,
    visibility and access")."""
    package = facts.package
    if package is None:
        raise ValueError("role_on needs the facts of an existing package")
    roles: list[int] = [Role.READ] if package.visibility == Visibility.PUBLIC else []
    if user is not None:
        if _namespace_admin(user, package.namespace, facts):
            roles.append(Role.ADMIN)
        if package.visibility == Visibility.INTERNAL and facts.membership is not None:
            roles.append(Role.READ)
        if inherits_access(package):
            if package.repository is not None and _namespace_admin(user, package.repository.owner, facts):
                roles.append(Role.ADMIN)
            roles += [facts.collaborator] if facts.collaborator is not None else []
        else:
            roles += [Role.ADMIN] if package.created_by_id == user.pk else []
            roles += [facts.granted] if facts.granted is not None else []
    return Role(max(roles)) if roles else None


def may_create(user: User | None, namespace: str, facts: Facts) -> bool:
    """Whether ``user`` may create a package in ``namespace``: their own; an organization's owners; its
    members while the organization lets members create packages with at least one visibility."""
    if user is None:
        return False
    if user.username == namespace:
        return True
    membership = facts.membership
    if membership is None:
        return False
    return _is_owner(membership) or bool(membership.organization.member_visibilities)
