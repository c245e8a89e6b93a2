"""Access grants: a user's or a team's own read / write / admin role on a package."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

from accounts.models import Membership, Team
from accounts.roles import role_named

from ..access import require_package_admin
from ..audit import audit_record
from ..exceptions import InvalidInput
from ..models import AuditEvent, Package, PackagePermission, Visibility
from .packages import _is_organization


def _grantee(package: Package, *, username: str = "", team: str = "") -> dict[str, Any]:
    """The user or team an access grant names. A private package of an organization can only be
    shared with its members (its teams are always its members)."""
    if bool(username) == bool(team):
        raise InvalidInput("Name a user or a team.", code="grantee")
    if team:
        found = Team.objects.filter(organization__name=package.namespace, slug=team).first()
        if found is None:
            raise InvalidInput(f"{package.namespace} has no team “{team}”.", code="unknown_team")
        return {"team": found}
    user = get_user_model().objects.filter(username=username.strip().lower(), is_active=True).first()
    if user is None:
        raise InvalidInput(f"There is no user named “{username}”.", code="unknown_user")
    organization = _is_organization(package.namespace)
    member = Membership.objects.filter(organization__name=package.namespace, user=user).exists()
    if organization and package.visibility == Visibility.PRIVATE and not member:
        raise InvalidInput(
            f"{user.username} is not a member of {package.namespace}: a private package of an organization "
            "can only be shared with its members.",
            code="not_member",
        )
    return {"user": user}


def access_grant(
    *, package: Package, user: User | None, role: str | int, username: str = "", team: str = ""
) -> PackagePermission:
    """Give a user or a team read / write / admin on ``package`` (replacing a role they held). Admins only."""
    require_package_admin(package, user, "change who has access")
    grantee = _grantee(package, username=username, team=team)
    chosen = role_named(role)
    permission, _ = PackagePermission.objects.update_or_create(package=package, **grantee, defaults={"role": chosen})
    name = username or f"team {team}"
    audit_record(package=package, user=user, action=AuditEvent.Action.ACCESS, detail=f"{name}: {chosen.label.lower()}")
    return permission


def access_revoke(*, package: Package, user: User | None, username: str = "", team: str = "") -> None:
    """Remove a user's or team's role on ``package``. Admins only."""
    require_package_admin(package, user, "change who has access")
    filters = {"user__username": username} if username else {"team__slug": team}
    deleted, _ = PackagePermission.objects.filter(package=package, **filters).delete()
    if not deleted:
        raise InvalidInput(f"{username or team} has no access of its own to remove.", code="no_grant")
    name = username or f"team {team}"
    audit_record(package=package, user=user, action=AuditEvent.Action.ACCESS, detail=f"{name}: removed")
