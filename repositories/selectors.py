"""Reads of source repositories: which a package may link to, one as its viewer sees it, a user's own.
Package reads are ``packages_app.selectors``."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from accounts.models import Membership
from accounts.selectors import organizations_of
from packages_app.access import repository_role
from packages_app.exceptions import NameUnknown
from packages_app.models import Package, Role
from packages_app.selectors import _person

from .models import SourceRepository


def repositories_linkable(*, package: Package, user: Any) -> list[Any]:
    """Repositories of the package's owner that ``user`` administers (a package links only to those)."""
    candidates = SourceRepository.objects.filter(owner=package.namespace).order_by("name")
    return [r for r in candidates if repository_role(user, r.id) == Role.ADMIN]


def repository_for_viewer(*, owner: str, name: str, user: Any) -> tuple[Any, Role | None]:
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
