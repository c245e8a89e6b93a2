"""Source repositories and their collaborators (REGISTRY.md "Packages, visibility and access"):
creating one, managing who collaborates, and finding the repository a source label names. Linking a
package to a repository is ``packages_app.repository_links``; automation tokens are
``tokens_app.automation``."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

from accounts.roles import Role, namespace_role, role_named
from errors import Conflict, InvalidInput, PermissionRefused

from .models import RepositoryCollaborator, SourceRepository
from .selectors import repository_role

REPOSITORY_NAME_RE = r"[a-z0-9]+(?:[._-][a-z0-9]+)*"


def repository_create(*, owner: str, name: str, user: User, description: str = "") -> SourceRepository:
    """A source repository in ``owner``'s namespace, created by one of its admins (the user themselves,
    or an organization's owners)."""
    if namespace_role(user, owner) != Role.ADMIN:
        raise PermissionRefused("Only the namespace's owners can create repositories there.")
    name = name.strip()
    if not re.fullmatch(REPOSITORY_NAME_RE, name) or len(name) > 100:
        raise InvalidInput("Use lowercase letters, digits and . _ - between them.", code="name")
    if SourceRepository.objects.filter(owner=owner, name=name).exists():
        raise Conflict(f"{owner}/{name} already exists.", code="taken")
    return SourceRepository.objects.create(owner=owner, name=name, description=description.strip(), created_by=user)


def require_repository_admin(repository: SourceRepository, user: User | None, what: str = "do that") -> None:
    """PermissionRefused unless ``user`` is one of ``repository``'s admins (``what``: the refused act)."""
    if repository_role(user, repository.id) != Role.ADMIN:
        raise PermissionRefused(f"Only the repository's admins can {what}.")


def collaborator_set(
    *, repository: SourceRepository, user: User | None, username: str, role: str | int
) -> RepositoryCollaborator:
    """Add a collaborator or change their role. Repository admins only."""
    require_repository_admin(repository, user)
    person = get_user_model().objects.filter(username=username.strip().lower(), is_active=True).first()
    if person is None:
        raise InvalidInput(f"There is no user named “{username}”.", code="unknown_user")
    collaborator, _ = RepositoryCollaborator.objects.update_or_create(
        repository=repository, user=person, defaults={"role": role_named(role)}
    )
    return collaborator


def collaborator_remove(*, repository: SourceRepository, user: User | None, username: str) -> None:
    require_repository_admin(repository, user)
    RepositoryCollaborator.objects.filter(repository=repository, user__username=username).delete()


def repository_for_source_url(source_url: str) -> SourceRepository | None:
    """The repository a source label names: ``<site>/<owner>/<repo>`` (optionally ``.git`` or a trailing
    slash), the site being one of ``WHARF_SITE_HOSTS`` (any host when that is empty)."""
    try:
        parts = urlsplit(source_url.strip())
    except ValueError:
        return None
    hosts = settings.WHARF_SITE_HOSTS
    if parts.scheme not in {"http", "https"} or (hosts and parts.netloc.lower() not in hosts):
        return None
    segments = [p for p in parts.path.strip("/").removesuffix(".git").split("/") if p]
    if len(segments) != 2:
        return None
    return SourceRepository.objects.filter(owner=segments[0].lower(), name=segments[1].lower()).first()
