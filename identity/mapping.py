"""Group → organization/team memberships for people who sign in through a provider (OpenID Connect or
LDAP), applied at every sign-in. A mapping only adds: it makes the person a member (or an owner) of the
organizations their groups name, and a member of the named teams (created if missing). It never removes a
membership or demotes anyone (an owner's changes on the pages stay). Organizations must already exist:
a mapping never takes a namespace. Each change is in the organization's audit log, by the provider."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.contrib.auth.models import User
from django.db import transaction

from accounts.models import Membership, Organization, Team
from packages_app.models import AuditEvent

from .config import GroupRule

log = logging.getLogger(__name__)


def apply_groups(*, user: User, groups: Iterable[str], rules: list[GroupRule], via: str) -> list[str]:
    """Apply ``rules`` for ``groups``; returns what changed (``acme:owner``, ``acme/backend``)."""
    held = set(groups)
    changes: list[str] = []
    with transaction.atomic():
        for rule in (r for r in rules if r.group in held):
            organization = Organization.objects.filter(name=rule.organization).first()
            if organization is None:
                log.warning("group map names organization %r, which does not exist", rule.organization)
                continue
            changes += _membership(user, organization, rule.role, via)
            if rule.team:
                changes += _team(user, organization, rule.team, via)
    return changes


def _membership(user: User, organization: Organization, role: str, via: str) -> list[str]:
    membership, created = Membership.objects.get_or_create(
        organization=organization, user=user, defaults={"role": role}
    )
    if created:
        _audit(organization, AuditEvent.Action.MEMBER_ADD, via, f"{user.username} ({role})")
        return [f"{organization.name}:{role}"]
    if role == Membership.Role.OWNER and membership.role != Membership.Role.OWNER:
        Membership.objects.filter(id=membership.id).update(role=Membership.Role.OWNER)
        _audit(organization, AuditEvent.Action.MEMBER_ROLE, via, f"{user.username}: owner")
        return [f"{organization.name}:owner"]
    return []


def _team(user: User, organization: Organization, slug: str, via: str) -> list[str]:
    team, _ = Team.objects.get_or_create(organization=organization, slug=slug, defaults={"name": slug})
    if team.members.filter(id=user.id).exists():
        return []
    team.members.add(user)
    _audit(organization, AuditEvent.Action.TEAM_MEMBER_ADD, via, f"{slug}: {user.username}")
    return [f"{organization.name}/{slug}"]


def _audit(organization: Organization, action: str, via: str, detail: str) -> None:
    AuditEvent.objects.create(
        package=None, namespace=organization.name, package_name="", actor=via[:255], action=action, detail=detail
    )
