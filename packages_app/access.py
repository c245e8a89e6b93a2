"""Who may do what to a package: the one place registry authorization is decided.

A caller is an ``Actor``: anonymous, a user authenticated with a personal access token (its scopes
bound what the user's roles allow), or the holder of a registry bearer token (its grants bound it
further). Roles (REGISTRY.md "Packages, visibility and access"):

* public packages: everyone reads; internal: every member of the owning organization reads;
* the namespace's user, the organization's owners and the package's creator are admins;
* explicit read / write / admin grants to users and teams;
* a package linked to a source repository with ``inherit_access`` on takes the repository's roles
  (its collaborators', and its owner namespace's admins) instead of its own grants and its creator's
  admin; visibility is never inherited;
* a repository's automation token (``Actor.repository_id``) writes the packages linked to that
  repository and creates new ones in the repository owner's namespace;
* a CI credential from a trusted issuer (``federation``) is either an automation token of its bound
  repository (with the issuer's role as its scopes) or holds ``Actor.role`` on its bound packages;
* a fine-grained token (``Actor.reach``) reaches only its chosen packages or one organization's (and
  pulls public ones): elsewhere it is refused exactly as for a package that does not exist in a
  namespace it cannot create in.

Pull needs read and ``read:packages``; push needs write and ``write:packages`` (or, for a new package,
the right to create in its namespace); delete needs admin and ``delete:packages``. A package the
caller may not read answers exactly as one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from django.conf import settings
from django.contrib.auth.models import User

from accounts.models import Membership
from accounts.roles import Viewer, person
from repositories.models import SourceRepository

from . import roles
from .exceptions import INSUFFICIENT_SCOPE, Denied, InsufficientScope, NameUnknown, PermissionRefused, Unauthorized
from .models import Package, Role, Visibility


class Action(StrEnum):
    PULL = "pull"
    PUSH = "push"
    DELETE = "delete"


SCOPE_FOR = {Action.PULL: "read:packages", Action.PUSH: "write:packages", Action.DELETE: "delete:packages"}
ROLE_FOR = {Action.PULL: Role.READ, Action.PUSH: Role.WRITE, Action.DELETE: Role.ADMIN}


@dataclass(frozen=True)
class Reach:
    """What a fine-grained token may reach: chosen packages, or every package of one namespace."""

    packages: frozenset[str] | None = None
    namespace: str | None = None

    def covers(self, name: str) -> bool:
        if self.packages is not None:
            return name in self.packages
        return self.namespace is None or name.split("/", 1)[0] == self.namespace


@dataclass(frozen=True)
class Actor:
    user: User | None = None  # None: anonymous
    scopes: frozenset[str] | None = None  # None: not limited by a token (a browser session)
    grants: dict[str, frozenset[str]] | None = None  # a bearer token's per-repository actions
    repository_id: int | None = None  # an automation token's source repository (then user is None)
    reach: Reach | None = None  # a fine-grained token's limit (None: every package the roles allow)
    role: Role | None = None  # a CI credential's role on each package within its reach (then user is None)
    name: str = ""  # who this is in the audit log, when set (a CI credential: its issuer and subject)
    # Role decisions remembered with a registry bearer token (``v2api.bearer_cache``: for as long as the
    # cache keeps the token's actor); None decides afresh on every call. Only grants are remembered, each
    # with the id of the package it was decided on: a name deleted and created again is a new package,
    # decided afresh (and a refusal costs the same work every time, for a private name as for a missing one).
    decisions: dict[tuple[str, Action], int] | None = field(default=None, compare=False, repr=False)

    @property
    def is_anonymous(self) -> bool:
        return self.user is None and self.repository_id is None and self.role is None

    @property
    def label(self) -> str:
        """Who this is, for the audit log."""
        if self.name:
            return self.name
        if self.repository_id is not None:
            repository = SourceRepository.objects.filter(id=self.repository_id).first()
            return f"automation token of {repository.full_name if repository else 'a deleted repository'}"
        return self.user.username if self.user is not None else "anonymous"


ANONYMOUS = Actor()


def _open_registry() -> bool:
    return bool(settings.WHARF_ANONYMOUS_PUSH)


def package_role(user: User | None, package: Package) -> Role | None:
    """The strongest role ``user`` (None: anonymous) holds on ``package`` (rules: ``packages_app.roles``)."""
    return roles.role_on(user, roles.gather_for(user, package))


inherits_access = roles.inherits_access


def require_package_admin(package: Package, user: Viewer | None, what: str) -> User:
    """``user`` as a signed-in person if they are one of ``package``'s admins (None or a visitor: never);
    else PermissionRefused, saying they cannot do ``what``."""
    admin = person(user)
    if admin is None or package_role(admin, package) != Role.ADMIN:
        raise PermissionRefused(f"Only the package's admins can {what}.")
    return admin


def automation_role(repository_id: int, package: Package) -> Role | None:
    """An automation token writes the packages linked to its repository; it reads public ones."""
    if package.repository_id == repository_id:
        return Role.WRITE
    return Role.READ if package.visibility == Visibility.PUBLIC else None


def automation_can_create(repository_id: int, namespace: str) -> bool:
    """An automation token creates packages only in its own repository's owner's namespace."""
    return SourceRepository.objects.filter(id=repository_id, owner=namespace).exists()


def can_create(user: User | None, namespace: str) -> bool:
    """Whether ``user`` may create a package in ``namespace``: their own; an organization's owners; its
    members while the organization lets members create packages with at least one visibility."""
    if user is None:
        return False
    if user.username == namespace:
        return True
    membership = Membership.objects.filter(organization__name=namespace, user=user).select_related("organization")
    found = membership.first()
    if found is None:
        return False
    return found.role == Membership.Role.OWNER or bool(found.organization.member_visibilities)


@dataclass(frozen=True)
class Seen:
    """The live package of a name, as the request's own query found it (``selectors.manifest_find``)."""

    id: int
    visibility: str


def role_allows(
    user: User | None, name: str, action: Action, *, repository_id: int | None = None, fixed_role: Role | None = None
) -> bool:
    """The roles alone, before any token's scopes or grants (``repository_id``: an automation token's;
    ``fixed_role``: a CI credential's role on the existing packages it reaches — it creates none)."""
    return _role_decision(user, name, action, repository_id=repository_id, fixed_role=fixed_role)[0]


def _role_decision(
    user: User | None, name: str, action: Action, *, repository_id: int | None, fixed_role: Role | None
) -> tuple[bool, int | None]:
    """Whether the roles allow ``action``, and the id of the package if it exists (only such a decision
    may be remembered: a name that does not exist yet can be created by someone else in the meantime).
    The same lookups whether the package exists or not (``roles.gather``), so an outsider cannot tell
    a private package from a missing one by the work done."""
    namespace = name.split("/", 1)[0]
    if fixed_role is not None:
        package, creator = Package.objects.filter(name=name).first(), False
    elif repository_id is not None:
        package, creator = Package.objects.filter(name=name).first(), automation_can_create(repository_id, namespace)
    else:
        facts = roles.gather(user, name)
        package, creator = facts.package, roles.may_create(user, namespace, facts)
    if package is None:
        # Whoever may create the package will be its admin: they may also pull (and find nothing),
        # so a push's "pull,push" token request is granted in full, as on ghcr.io. A CI credential
        # creates nothing.
        return creator and action in (Action.PUSH, Action.PULL), None
    if action is Action.PULL and package.visibility == Visibility.PUBLIC:
        return True, package.id  # everyone reads a public package
    if fixed_role is not None:
        role: Role | None = fixed_role
    elif repository_id is not None:
        role = automation_role(repository_id, package)
    else:
        role = roles.role_on(user, facts)
    return role is not None and role >= ROLE_FOR[action], package.id


def _within_reach(actor: Actor, name: str, action: Action) -> bool:
    """A fine-grained token reaches its chosen packages (or organization); like any token, it also
    pulls public packages (as GitHub's fine-grained tokens read public repositories)."""
    if actor.reach is None or actor.reach.covers(name):
        return True
    return action is Action.PULL and Package.objects.filter(name=name, visibility=Visibility.PUBLIC).exists()


def _token_allows(actor: Actor, name: str, action: Action) -> bool:
    if not _within_reach(actor, name, action):
        return False
    if actor.scopes is not None and SCOPE_FOR[action] not in actor.scopes:
        return False
    return actor.grants is None or action.value in actor.grants.get(name, frozenset())


def can(actor: Actor, name: str, action: Action, seen: Seen | None = None) -> bool:
    """Whether ``actor`` may do ``action`` on the package ``name`` (existing or not). ``seen``: the live
    package of that name, when the request's own query already found it (then nothing is looked up for
    a public package's pull, nor for a remembered decision on that very package)."""
    if _open_registry():
        return True
    return _token_allows(actor, name, action) and _roles_allow(actor, name, action, seen)


def _roles_allow(actor: Actor, name: str, action: Action, seen: Seen | None = None) -> bool:
    """``role_allows`` for ``actor``, remembered in ``actor.decisions`` when it has them."""
    if seen is not None and action is Action.PULL and seen.visibility == Visibility.PUBLIC:
        return True  # what ``_role_decision`` answers for a public package, without looking it up again
    decisions = actor.decisions
    known = decisions.get((name, action)) if decisions is not None else None
    if known is not None and known == (seen.id if seen is not None else _live_package_id(name)):
        return True
    allowed, package_id = _role_decision(
        actor.user, name, action, repository_id=actor.repository_id, fixed_role=actor.role
    )
    if decisions is not None and allowed and package_id is not None:
        decisions[(name, action)] = package_id
    return allowed


def live_seen(name: str) -> Seen | None:
    """The live package ``name`` as a request's own lookup finds it (an upload POST's), or None."""
    found = Package.objects.identify(name)
    return None if found is None else Seen(*found)


def _live_package_id(name: str) -> int | None:
    """The id of the live package ``name``: a remembered decision holds only for the package it was made on."""
    return Package.objects.id_of(name)


def may_pull(actor: Actor, package: Package) -> bool:
    """``can(actor, package.name, PULL)`` for a package already loaded (the catalog checks many)."""
    if _open_registry():
        return True
    if not _token_allows(actor, package.name, Action.PULL):
        return False
    if package.visibility == Visibility.PUBLIC or actor.role is not None:
        return True  # a CI credential's role covers every package it reaches (checked above)
    if actor.repository_id is not None:
        return automation_role(actor.repository_id, package) is not None
    return package_role(actor.user, package) is not None


def challenge_scope(name: str, action: Action) -> str:
    """The token scope a refusal asks for. A push asks for ``pull,push``, as distribution does: clients
    that keep the first token they get (oras-py) also need pull on the way (HEAD before PUT)."""
    actions = "pull,push" if action is Action.PUSH else action.value
    return f"repository:{name}:{actions}"


def grant_would_allow(actor: Actor, name: str, action: Action) -> bool:
    """Whether ``actor`` holds a registry token that lacks only the grant: a new token for the same
    credentials would allow ``action`` on ``name``."""
    return actor.grants is not None and can(replace(actor, grants=None), name, action)


def authorize(actor: Actor, name: str, action: Action, seen: Seen | None = None) -> None:
    """Raise unless ``actor`` may do ``action`` on ``name``, the same way whether it exists or not.

    Anonymous callers are asked to authenticate. A token without the action's scope is told which
    scope is missing, before any package is looked at (so the answer is the same whether the package
    exists or not). A signed-in caller who cannot read the package gets NAME_UNKNOWN for pulls and
    deletes and a DENIED saying why for pushes; one whose registry token lacks the grant is asked for a
    new one (RFC 6750 ``insufficient_scope``).
    A fine-grained token outside its reach is answered as for a missing name it could not create.
    """
    if can(actor, name, action, seen):
        return
    scope = challenge_scope(name, action)
    if actor.is_anonymous and actor.grants is None:
        raise Unauthorized(scope=scope)
    if actor.scopes is not None and SCOPE_FOR[action] not in actor.scopes:
        raise Denied(f"permission_denied: the token lacks the {SCOPE_FOR[action]} scope")
    if not _within_reach(actor, name, action):
        if action is Action.PUSH:  # the same for every name outside the reach, existing or not
            raise Denied(f"this fine-grained token does not reach {name}")
        raise NameUnknown()
    if _roles_allow(actor, name, action, seen):
        raise InsufficientScope(scope=scope)
    if actor.is_anonymous:  # an anonymous registry token: log in for more
        raise Unauthorized(scope=scope, error=INSUFFICIENT_SCOPE)
    if action is Action.PUSH:
        raise Denied(push_refusal(actor, name))
    if _sees(actor, name):
        raise Denied(f"you cannot {action.value} {name}: it needs the {ROLE_FOR[action].label.lower()} role")
    raise NameUnknown()


def push_refusal(actor: Actor, name: str) -> str:
    """Why a push is refused, in words docker shows as they are (a default message makes docker 20.10
    retry for a minute and then print a bare "denied"). Only what the caller may know: a package it
    cannot read is described as a name it cannot create, exactly as a missing one would be."""
    namespace = name.split("/", 1)[0]
    if _sees(actor, name):
        return f"you may read {name} but not push to it: pushing needs the write role"
    if actor.role is not None:
        creator, who = False, "this CI credential"  # it writes only the existing packages it is bound to
    elif actor.repository_id is not None:
        creator, who = automation_can_create(actor.repository_id, namespace), "this repository's automation token"
    else:
        creator, who = can_create(actor.user, namespace), "you"
    if creator:
        return f"the name {name} is taken by a package you cannot write to"
    return f"{who} cannot create packages in {namespace}"


def _sees(actor: Actor, name: str) -> bool:
    """Whether the package exists and ``actor`` may read it: only then may a refusal admit it is there.
    (``role_allows`` also lets a would-be creator pull a name that does not exist yet.)"""
    if actor.role is not None:  # reached (checked before): a CI credential's role covers it
        return Package.objects.filter(name=name).exists()
    if actor.repository_id is not None:
        package = Package.objects.filter(name=name).first()
        return package is not None and automation_role(actor.repository_id, package) is not None
    facts = roles.gather(actor.user, name)  # the same lookups for a missing name
    return facts.package is not None and roles.role_on(actor.user, facts) is not None
