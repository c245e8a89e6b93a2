"""The audit log beyond single packages: an organization's own events (members, roles, teams), and the
paginated, filterable log an organization's owners read (by action, actor and package).
Package events are written by ``audit_record`` (called by the services); both land in ``AuditEvent``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.dispatch import receiver

from accounts.signals import organization_changed

from .models import AuditEvent, Package

PER_PAGE = 50


def audit_record(
    *, package: Package, action: str, user: User | None = None, actor: str = "", detail: str = ""
) -> AuditEvent:
    """One line of the audit log: who (``actor`` names an automation token or anonymous caller) did what."""
    return _write(package, package.namespace, action=action, user=user, actor=actor, detail=detail)


def org_event_record(*, namespace: str, user: User, action: str, detail: str = "") -> AuditEvent:
    """An organization's event with no package (membership and team changes, announced by accounts)."""
    return _write(None, namespace, action=action, user=user, actor="", detail=detail)


@receiver(organization_changed, dispatch_uid="wharf-audit-organization-changed")
def record_organization_change(*, namespace: str, user: User, action: str, detail: str = "", **_: Any) -> None:
    """What accounts announces (``accounts.signals``) goes into the organization's log."""
    org_event_record(namespace=namespace, user=user, action=action, detail=detail)


def _write(
    package: Package | None, namespace: str, *, action: str, user: User | None, actor: str, detail: str
) -> AuditEvent:
    who = actor or (user.username if user is not None else "anonymous")
    return AuditEvent.objects.create(
        package=package,
        namespace=namespace,
        package_name=package.name if package is not None else "",
        user=user,
        actor=who[:255],
        action=action,
        detail=detail[:1000],
    )


@dataclass(frozen=True)
class AuditFilter:
    action: str = ""
    actor: str = ""
    package: str = ""

    @classmethod
    def from_query(cls, query: Any) -> AuditFilter:
        action = query.get("action", "")
        return cls(
            action=action if action in AuditEvent.Action.values else "",
            actor=query.get("actor", "").strip()[:150],
            package=query.get("package", "").strip()[:255],
        )

    @property
    def active(self) -> bool:
        return bool(self.action or self.actor or self.package)


def _events(namespace: str, chosen: AuditFilter) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.filter(namespace=namespace).select_related("package")
    if chosen.action:
        events = events.filter(action=chosen.action)
    if chosen.actor:
        events = events.filter(actor__iexact=chosen.actor)
    if chosen.package:
        events = events.filter(package_name__icontains=chosen.package)
    return events.order_by("-created_at", "-id")


@dataclass(frozen=True)
class AuditPage:
    page: Page[AuditEvent]
    filter: AuditFilter
    actors: list[str]
    actions: list[tuple[str, str]]

    @property
    def events(self) -> list[AuditEvent]:
        return list(self.page.object_list)


def audit_page(*, namespace: str, query: Any, page: str | int = 1) -> AuditPage:
    """One page of ``namespace``'s audit log, newest first, filtered as ``query`` (GET) asks."""
    chosen = AuditFilter.from_query(query)
    current = Paginator(_events(namespace, chosen), PER_PAGE).get_page(page)
    actors = AuditEvent.objects.filter(namespace=namespace).order_by("actor").values_list("actor", flat=True)
    return AuditPage(current, chosen, list(dict.fromkeys(actors))[:200], list(AuditEvent.Action.choices))
