"""Writes for organizations, memberships and teams. Only an organization's owners change it."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.utils.text import slugify

from errors import Conflict, InvalidInput, PermissionRefused

from . import selectors, signals
from .models import ALL_VISIBILITIES, Membership, Organization, Team
from .namespaces import validate_new_namespace
from .roles import Viewer, require_person


def is_owner(*, organization: Organization, user: User) -> bool:
    return Membership.objects.filter(organization=organization, user=user, role=Membership.Role.OWNER).exists()


def owned_organization(*, name: str, user: Viewer) -> Organization:
    """The organization ``name`` for one of its owners; a member is refused, anyone else gets the 404
    of a missing organization."""
    organization = selectors.organization_for_member(name=name, user=user)  # a visitor: the 404
    if not is_owner(organization=organization, user=require_person(user)):
        raise PermissionRefused("Only the organization's owners can do that.")
    return organization


def _require_owner(organization: Organization, actor: User) -> None:
    if not is_owner(organization=organization, user=actor):
        raise PermissionRefused("Only the organization's owners can do that.")


def _user_named(username: str) -> User:
    user = get_user_model().objects.filter(username=username.strip().lower()).first()
    if user is None:
        raise InvalidInput(f"There is no user named “{username}”.", code="unknown_user")
    return user


def organization_create(*, name: str, owner: User, description: str = "") -> Organization:
    """A new organization whose creator is its first owner."""
    validate_new_namespace(name)
    with transaction.atomic():
        organization = Organization.objects.create(name=name, description=description)
        Membership.objects.create(organization=organization, user=owner, role=Membership.Role.OWNER)
    return organization


def member_add(
    *, organization: Organization, actor: User, username: str, role: str = Membership.Role.MEMBER
) -> Membership:
    _require_owner(organization, actor)
    if role not in Membership.Role.values:
        raise InvalidInput("Unknown role.", code="role")
    user = _user_named(username)
    membership, created = Membership.objects.get_or_create(
        organization=organization, user=user, defaults={"role": role}
    )
    if not created:
        raise Conflict(f"{user.username} is already a member.", code="member")
    signals.announce(
        namespace=organization.name, user=actor, action=signals.MEMBER_ADD, detail=f"{user.username}: {role}"
    )
    return membership


def _owners_left_without(organization: Organization, user: User) -> int:
    return Membership.objects.filter(organization=organization, role=Membership.Role.OWNER).exclude(user=user).count()


def member_set_role(*, organization: Organization, actor: User, username: str, role: str) -> Membership:
    _require_owner(organization, actor)
    if role not in Membership.Role.values:
        raise InvalidInput("Unknown role.", code="role")
    membership = Membership.objects.filter(organization=organization, user__username=username).first()
    if membership is None:
        raise InvalidInput(f"{username} is not a member.", code="not_member")
    if role != Membership.Role.OWNER and _owners_left_without(organization, membership.user) == 0:
        raise InvalidInput("An organization needs at least one owner.", code="last_owner")
    membership.role = role
    membership.save(update_fields=["role"])
    signals.announce(namespace=organization.name, user=actor, action=signals.MEMBER_ROLE, detail=f"{username}: {role}")
    return membership


def member_remove(*, organization: Organization, actor: User, username: str) -> None:
    _require_owner(organization, actor)
    membership = Membership.objects.filter(organization=organization, user__username=username).first()
    if membership is None:
        raise InvalidInput(f"{username} is not a member.", code="not_member")
    if _owners_left_without(organization, membership.user) == 0:
        raise InvalidInput("An organization needs at least one owner.", code="last_owner")
    with transaction.atomic():
        for team in Team.objects.filter(organization=organization, members=membership.user):
            team.members.remove(membership.user)
        membership.delete()
        signals.announce(namespace=organization.name, user=actor, action=signals.MEMBER_REMOVE, detail=username)


def team_create(*, organization: Organization, actor: User, name: str) -> Team:
    _require_owner(organization, actor)
    slug = slugify(name)
    if not slug:
        raise InvalidInput("Give the team a name with letters or digits.", code="name")
    if Team.objects.filter(organization=organization, slug=slug).exists():
        raise Conflict(f"A team “{slug}” already exists.", code="taken")
    team = Team.objects.create(organization=organization, name=name.strip(), slug=slug)
    signals.announce(namespace=organization.name, user=actor, action=signals.TEAM_CREATE, detail=slug)
    return team


def team_member_add(*, team: Team, actor: User, username: str) -> None:
    _require_owner(team.organization, actor)
    user = _user_named(username)
    if not Membership.objects.filter(organization=team.organization, user=user).exists():
        raise InvalidInput(f"{user.username} is not a member of {team.organization.name}.", code="not_member")
    team.members.add(user)
    detail = f"{team.slug}: {user.username}"
    signals.announce(namespace=team.organization.name, user=actor, action=signals.TEAM_MEMBER_ADD, detail=detail)


def team_member_remove(*, team: Team, actor: User, username: str) -> None:
    _require_owner(team.organization, actor)
    removed = list(team.members.filter(username=username))
    team.members.remove(*removed)
    if removed:
        detail = f"{team.slug}: {username}"
        signals.announce(namespace=team.organization.name, user=actor, action=signals.TEAM_MEMBER_REMOVE, detail=detail)


def organization_set_package_policy(
    *, organization: Organization, actor: User, member_visibilities: list[str], inherit_access_by_default: bool
) -> Organization:
    """Which visibilities members may give packages (and create them with), and whether new packages
    inherit access from a linked repository (REGISTRY.md "Packages, visibility and access"). Owners only."""
    _require_owner(organization, actor)
    unknown = set(member_visibilities) - set(ALL_VISIBILITIES)
    if unknown:
        raise InvalidInput(f"Unknown visibility: {', '.join(sorted(unknown))}", code="visibility")
    organization.member_visibilities = [v for v in ALL_VISIBILITIES if v in member_visibilities]
    organization.inherit_access_by_default = inherit_access_by_default
    organization.save(update_fields=["member_visibilities", "inherit_access_by_default"])
    return organization
