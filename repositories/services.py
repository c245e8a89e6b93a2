"""Source repositories, their collaborators, their automation tokens and the packages linked to them
(REGISTRY.md "Packages, visibility and access", "Accounts, tokens and login").

An automation token's first push links the package it creates to the token's repository: that is
``packages_app.services.packages.package_for_write`` (the service that creates packages), never the
registry's auth gate, which only reads."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from errors import Conflict, InvalidInput, PermissionRefused
from packages_app.access import namespace_role, repository_role
from packages_app.audit import audit_record
from packages_app.models import AuditEvent, Package, Role
from packages_app.services.grants import _role
from packages_app.services.packages import _require_admin
from tokens_app.models import AutomationToken

from .models import RepositoryCollaborator, SourceRepository

REPOSITORY_NAME_RE = r"[a-z0-9]+(?:[._-][a-z0-9]+)*"


def repository_create(*, owner: str, name: str, user: Any, description: str = "") -> SourceRepository:
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


def _require_repository_admin(repository: SourceRepository, user: Any) -> None:
    if repository_role(user, repository.id) != Role.ADMIN:
        raise PermissionRefused("Only the repository's admins can do that.")


def collaborator_set(
    *, repository: SourceRepository, user: Any, username: str, role: str | int
) -> RepositoryCollaborator:
    """Add a collaborator or change their role. Repository admins only."""
    _require_repository_admin(repository, user)
    person = get_user_model().objects.filter(username=username.strip().lower(), is_active=True).first()
    if person is None:
        raise InvalidInput(f"There is no user named “{username}”.", code="unknown_user")
    collaborator, _ = RepositoryCollaborator.objects.update_or_create(
        repository=repository, user=person, defaults={"role": _role(role)}
    )
    return collaborator


def collaborator_remove(*, repository: SourceRepository, user: Any, username: str) -> None:
    _require_repository_admin(repository, user)
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


def package_link_repository(
    *, package: Package, repository: SourceRepository | None, user: Any = None, actor: str = ""
) -> Package:
    """Link ``package`` to a repository of its own namespace (None: unlink). ``user`` None is the system
    (a source label, an automation token's push); a person must administer the package and the repository."""
    if user is not None:
        _require_admin(package, user, "change its repository")
        if repository is not None:
            _require_repository_admin(repository, user)
    if repository is not None and repository.owner != package.namespace:
        raise InvalidInput("A package can only be linked to a repository of its own owner.", code="owner")
    if package.repository_id == (repository.id if repository else None):
        return package
    package.repository = repository
    Package.all_objects.filter(id=package.id).update(repository=repository)
    detail = f"linked to {repository.full_name}" if repository else "unlinked"
    audit_record(
        package=package,
        user=user,
        actor=actor or ("system" if user is None else ""),
        action=AuditEvent.Action.LINK,
        detail=detail,
    )
    return package


def package_link_from_source_label(*, package: Package, source_url: str) -> None:
    """Called by ``metadata.package_link_source_repository``: an unlinked package whose source label
    names a repository of its owner this site knows is linked to it."""
    if package.repository_id is not None or not source_url:
        return
    repository = repository_for_source_url(source_url)
    if repository is not None and repository.owner == package.namespace:
        package_link_repository(package=package, repository=repository, actor=f"source label {source_url[:200]}")


def package_set_inheritance(*, package: Package, user: Any, inherit: bool) -> Package:
    """Turn inheriting the repository's access on or off; takes effect at once (``access.package_role``)."""
    _require_admin(package, user, "change how it inherits access")
    package.inherit_access = inherit
    Package.all_objects.filter(id=package.id).update(inherit_access=inherit)
    state = "on" if inherit else "off"
    audit_record(
        package=package, user=user, action=AuditEvent.Action.ACCESS, detail=f"inherit repository access: {state}"
    )
    return package


# --- automation tokens (the analogue of GitHub Actions' GITHUB_TOKEN) -------------------------------


@dataclass(frozen=True)
class NewAutomationToken:
    token: AutomationToken
    plaintext: str


def automation_token_issue(*, repository: SourceRepository, user: Any) -> NewAutomationToken:
    """A short-lived (``WHARF_AUTOMATION_TOKEN_SECONDS``) token for ``repository``, issued by one of its
    admins; its plaintext is returned once and never stored."""
    if repository_role(user, repository.id) != Role.ADMIN:
        raise PermissionRefused("Only the repository's admins can issue its automation tokens.")
    expires_at = timezone.now() + timedelta(seconds=settings.WHARF_AUTOMATION_TOKEN_SECONDS)
    token, plaintext = AutomationToken.issue(repository=repository, created_by=user, expires_at=expires_at)
    return NewAutomationToken(token, plaintext)


def automation_token_revoke(*, repository: SourceRepository, token_id: int, user: Any) -> AutomationToken:
    """Revoke one of ``repository``'s automation tokens (its admins only): it stops authenticating at
    once (Basic and ``/token``; registry tokens it was exchanged for within
    ``WHARF_REGISTRY_AUTH_CACHE_SECONDS``). Revoking a revoked token changes nothing. Another
    repository's token, or a missing one, is ``AutomationToken.DoesNotExist``."""
    if repository_role(user, repository.id) != Role.ADMIN:
        raise PermissionRefused("Only the repository's admins can revoke its automation tokens.")
    token = AutomationToken.objects.filter(id=token_id, repository=repository).first()
    if token is None:
        raise AutomationToken.DoesNotExist()
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        AutomationToken.objects.filter(id=token.id, revoked_at__isnull=True).update(revoked_at=token.revoked_at)
    return token
