"""Reads of source repositories: which a package may link to, one as its viewer sees it, a user's own,
and a repository's automation tokens. Package reads are ``packages_app.selectors``."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone

from accounts.models import Membership
from accounts.selectors import organizations_of
from packages_app.access import repository_role
from packages_app.exceptions import NameUnknown
from packages_app.models import Package, Role
from packages_app.selectors import _person
from tokens_app.models import AutomationToken

from .models import SourceRepository


def repositories_linkable(*, package: Package, user: Any) -> list[Any]:
    """Repositories of the package's owner that ``user`` administers (a package links only to those)."""
    candidates = SourceRepository.objects.filter(owner=package.namespace).order_by("name")
    return [r for r in candidates if repository_role(user, r.id) == Role.ADMIN]


def repository_for_viewer(*, owner: str, name: str, user: Any) -> tuple[SourceRepository, Role | None]:
    """A repository and the viewer's role on it. Its collaborators and the owner organization's members
    see it; to anyone else it does not exist (NameUnknown)."""
    repository = SourceRepository.objects.filter(owner=owner, name=name).first()
    person = _person(user)
    if repository is None or person is None:
        raise NameUnknown()
    role = repository_role(person, repository.id)
    if role is None and not Membership.objects.filter(organization__name=owner, user=person).exists():
        raise NameUnknown()
    return repository, role


def repositories_of(*, user: Any) -> list[Any]:
    """Repositories the user administers or collaborates on, and those of their organizations."""
    person = _person(user)
    if person is None:
        return []
    namespaces = [person.username, *(o.name for o in organizations_of(user=person))]
    found = SourceRepository.objects.filter(Q(owner__in=namespaces) | Q(collaborators__user=person))
    return list(found.distinct().order_by("owner", "name"))


def repository_for_admin(*, owner: str, name: str, user: Any) -> SourceRepository:
    """A repository ``user`` administers; to anyone else (its readers and writers included) it does
    not exist (NameUnknown), as on the REST API's automation-token routes."""
    repository, role = repository_for_viewer(owner=owner, name=name, user=user)
    if role != Role.ADMIN:
        raise NameUnknown()
    return repository


def automation_tokens_of(*, repository: SourceRepository, active_only: bool = False) -> list[AutomationToken]:
    """The repository's automation tokens, newest first: all of them (revoked and expired ones too), or
    only those that still authenticate (the repository page, which offers to revoke them)."""
    tokens = AutomationToken.objects.filter(repository=repository).select_related("created_by")
    if active_only:
        tokens = tokens.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())
    return list(tokens.order_by("-created_at", "-id"))


def automation_token_of(*, repository: SourceRepository, token_id: int) -> AutomationToken | None:
    """One of the repository's automation tokens (another repository's id: None, as a missing one)."""
    return AutomationToken.objects.filter(id=token_id, repository=repository).first()


def automation_token_data(token: AutomationToken) -> dict[str, Any]:
    """What the pages and the REST API show of an automation token (never its secret)."""
    return {
        "id": token.id,
        "prefix": token.prefix,
        "active": token.is_active,
        "created_by": token.created_by.username if token.created_by else None,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
    }
