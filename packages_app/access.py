"""Who may do what to a package: the one place registry authorization is decided.

A caller is an ``Actor``: anonymous, a user authenticated with a personal access token (its scopes
bound what the user's roles allow), or the holder of a registry bearer token (its grants bound it
further). Roles (REGISTRY.md "Packages, visibility and access"):

* public packages: everyone reads; internal: every member of the owning organization reads;
* the namespace's user, the organization's owners and the package's creator are admins;
* explicit read / write / admin grants to users and teams.

Pull needs read and ``read:packages``; push needs write and ``write:packages`` (or, for a new package,
the right to create in its namespace); delete needs admin and ``delete:packages``. A package the
caller may not read answers exactly as one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db.models import Max, Q

from .exceptions import Denied, NameUnknown, Unauthorized
from .models import Package, PackagePermission, Role, Visibility


class Action(StrEnum):
    PULL = "pull"
    PUSH = "push"
    DELETE = "delete"


SCOPE_FOR = {Action.PULL: "read:packages", Action.PUSH: "write:packages", Action.DELETE: "delete:packages"}
ROLE_FOR = {Action.PULL: Role.READ, Action.PUSH: Role.WRITE, Action.DELETE: Role.ADMIN}


@dataclass(frozen=True)
class Actor:
    user: Any = None  # None: anonymous
    scopes: frozenset[str] | None = None  # None: not limited by a token (a browser session)
    grants: dict[str, frozenset[str]] | None = None  # a bearer token's per-repository actions

    @property
    def is_anonymous(self) -> bool:
        return self.user is None


ANONYMOUS = Actor()


def _open_registry() -> bool:
    return bool(settings.WHARF_ANONYMOUS_PUSH)


def namespace_role(user: Any, namespace: str) -> Role | None:
    """The role a user holds over a whole namespace: admin of their own and of organizations they own."""
    from accounts.models import Membership

    if user is None:
        return None
    if user.username == namespace:
        return Role.ADMIN
    membership = Membership.objects.filter(organization__name=namespace, user=user).first()
    if membership is None:
        return None
    return Role.ADMIN if membership.role == Membership.Role.OWNER else None


def package_role(user: Any, package: Package) -> Role | None:
    """The strongest role ``user`` (None: anonymous) holds on ``package``."""
    from accounts.models import Membership

    roles: list[int] = [Role.READ] if package.visibility == Visibility.PUBLIC else []
    if user is not None:
        if (role := namespace_role(user, package.namespace)) is not None:
            roles.append(role)
        if package.created_by_id == user.pk:
            roles.append(Role.ADMIN)
        if (
            package.visibility == Visibility.INTERNAL
            and Membership.objects.filter(organization__name=package.namespace, user=user).exists()
        ):
            roles.append(Role.READ)
        granted = PackagePermission.objects.filter(package=package).filter(Q(user=user) | Q(team__members=user))
        if (best := granted.aggregate(best=Max("role"))["best"]) is not None:
            roles.append(best)
    return Role(max(roles)) if roles else None


def can_create(user: Any, namespace: str) -> bool:
    """Whether ``user`` may create a package in ``namespace`` (their own, or an organization they belong to)."""
    from accounts.models import Membership

    if user is None:
        return False
    return user.username == namespace or Membership.objects.filter(organization__name=namespace, user=user).exists()


def role_allows(user: Any, name: str, action: Action) -> bool:
    """The roles alone, before any token's scopes or grants."""
    package = Package.objects.filter(name=name).first()
    if package is None:
        # Whoever may create the package will be its admin: they may also pull (and find nothing),
        # so a push's "pull,push" token request is granted in full, as on ghcr.io.
        return action in (Action.PUSH, Action.PULL) and can_create(user, name.split("/", 1)[0])
    role = package_role(user, package)
    return role is not None and role >= ROLE_FOR[action]


def _token_allows(actor: Actor, name: str, action: Action) -> bool:
    if actor.scopes is not None and SCOPE_FOR[action] not in actor.scopes:
        return False
    return actor.grants is None or action.value in actor.grants.get(name, frozenset())


def can(actor: Actor, name: str, action: Action) -> bool:
    """Whether ``actor`` may do ``action`` on the package ``name`` (existing or not)."""
    if _open_registry():
        return True
    return _token_allows(actor, name, action) and role_allows(actor.user, name, action)


def authorize(actor: Actor, name: str, action: Action) -> None:
    """Raise unless ``actor`` may do ``action`` on ``name``, the same way whether it exists or not.

    Anonymous callers are asked to authenticate. A token without the action's scope is told which
    scope is missing, before any package is looked at (so the answer is the same whether the package
    exists or not). A signed-in caller who cannot read the package gets NAME_UNKNOWN for pulls and
    deletes and a plain DENIED for pushes; one whose registry token lacks the grant is asked for a new one.
    """
    if can(actor, name, action):
        return
    scope = f"repository:{name}:{action.value}"
    if actor.is_anonymous:
        raise Unauthorized(scope=scope)
    if actor.scopes is not None and SCOPE_FOR[action] not in actor.scopes:
        raise Denied(f"permission_denied: the token lacks the {SCOPE_FOR[action]} scope")
    if role_allows(actor.user, name, action):
        raise Unauthorized("the registry token does not grant this action; request a new one", scope=scope)
    if action is Action.PUSH or _sees(actor.user, name):
        raise Denied()
    raise NameUnknown()


def _sees(user: Any, name: str) -> bool:
    """Whether the package exists and ``user`` may read it: only then may a refusal admit it is there.
    (``role_allows`` also lets a would-be creator pull a name that does not exist yet.)"""
    package = Package.objects.filter(name=name).first()
    return package is not None and package_role(user, package) is not None
