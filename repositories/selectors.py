"""Reads of source repositories: the role a user holds on one, one as its viewer sees it, and a user's
own. What a package may link to is ``packages_app.repository_links``; a repository's automation
tokens are ``tokens_app.automation``."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Q

from accounts.models import Membership
from accounts.roles import Role, Viewer, namespace_role, person
from accounts.selectors import organizations_of
from errors import NotFound

from .models import RepositoryCollaborator, SourceRepository


class RepositoryUnknown(NotFound):
    """A repository that does not exist, or that the caller may not see: both look the same."""

    message = "repository name not known to registry"


def repository_role(user: User | None, repository_id: int | None) -> Role | None:
    """The role ``user`` holds on a source repository: admin for its owner namespace's admins, else
    the collaborator role they were given."""
    if user is None or repository_id is None:
        return None
    repository = SourceRepository.objects.filter(id=repository_id).first()
    if repository is None:
        return None
    if namespace_role(user, repository.owner) == Role.ADMIN:
        return Role.ADMIN
    role = RepositoryCollaborator.objects.filter(repository=repository, user=user).values_list("role", flat=True)
    return Role(role[0]) if role else None


def repository_for_viewer(*, owner: str, name: str, user: Viewer | None) -> tuple[SourceRepository, Role | None]:
    """A repository and the viewer's role on it. Its collaborators and the owner organization's members
    see it; to anyone else it does not exist (RepositoryUnknown)."""
    repository = SourceRepository.objects.filter(owner=owner, name=name).first()
    viewer = person(user)
    if repository is None or viewer is None:
        raise RepositoryUnknown()
    role = repository_role(viewer, repository.id)
    if role is None and not Membership.objects.filter(organization__name=owner, user=viewer).exists():
        raise RepositoryUnknown()
    return repository, role


def repositories_of(*, user: Viewer | None) -> list[SourceRepository]:
    """Repositories the user administers or collaborates on, and those of their organizations."""
    viewer = person(user)
    if viewer is None:
        return []
    namespaces = [viewer.username, *(o.name for o in organizations_of(user=viewer))]
    found = SourceRepository.objects.filter(Q(owner__in=namespaces) | Q(collaborators__user=viewer))
    return list(found.distinct().order_by("owner", "name"))


def repository_for_admin(*, owner: str, name: str, user: Viewer | None) -> SourceRepository:
    """A repository ``user`` administers; to anyone else (its readers and writers included) it does
    not exist (RepositoryUnknown), as on the REST API's automation-token routes."""
    repository, role = repository_for_viewer(owner=owner, name=name, user=user)
    if role != Role.ADMIN:
        raise RepositoryUnknown()
    return repository
