"""What accounts announces: an organization changed (a member added, a role changed, a team created …).
The packages app's audit log records each one (``packages_app.audit``); accounts itself depends on no
app above it. Sent inside the change's transaction, so the record commits or rolls back with it."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.dispatch import Signal

# The changes, by the action names the audit log keeps (``packages_app.models.AuditEvent.Action``).
MEMBER_ADD = "member.add"
MEMBER_ROLE = "member.role"
MEMBER_REMOVE = "member.remove"
TEAM_CREATE = "team.create"
TEAM_MEMBER_ADD = "team.member.add"
TEAM_MEMBER_REMOVE = "team.member.remove"

# sent with namespace (the organization's name), user (who changed it), action and detail
organization_changed = Signal()


def announce(*, namespace: str, user: User, action: str, detail: str = "") -> None:
    organization_changed.send(sender=None, namespace=namespace, user=user, action=action, detail=detail)
