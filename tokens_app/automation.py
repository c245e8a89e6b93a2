"""Automation tokens, the analogue of GitHub Actions' ``GITHUB_TOKEN``: a short-lived token for one
source repository that pushes and pulls the packages linked to it and creates new ones in its owner's
namespace, linked there (``packages_app.access``). Its repository's admins issue and revoke them, on
the repository page (``templatetags/automation_tokens.py``, ``automation_views.py``) and over REST
(``api.automation_tokens``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from repositories.models import SourceRepository
from repositories.services import require_repository_admin

from .models import AutomationToken


@dataclass(frozen=True)
class NewAutomationToken:
    token: AutomationToken
    plaintext: str


def automation_token_issue(*, repository: SourceRepository, user: User) -> NewAutomationToken:
    """A short-lived (``WHARF_AUTOMATION_TOKEN_SECONDS``) token for ``repository``, issued by one of its
    admins; its plaintext is returned once and never stored."""
    require_repository_admin(repository, user, "issue its automation tokens")
    expires_at = timezone.now() + timedelta(seconds=settings.WHARF_AUTOMATION_TOKEN_SECONDS)
    token, plaintext = AutomationToken.issue(repository=repository, created_by=user, expires_at=expires_at)
    return NewAutomationToken(token, plaintext)


def automation_token_revoke(*, repository: SourceRepository, token_id: int, user: User) -> AutomationToken:
    """Revoke one of ``repository``'s automation tokens (its admins only): it stops authenticating at
    once (Basic and ``/token``; registry tokens it was exchanged for within
    ``WHARF_REGISTRY_AUTH_CACHE_SECONDS``). Revoking a revoked token changes nothing. Another
    repository's token, or a missing one, is ``AutomationToken.DoesNotExist``."""
    require_repository_admin(repository, user, "revoke its automation tokens")
    token = AutomationToken.objects.filter(id=token_id, repository=repository).first()
    if token is None:
        raise AutomationToken.DoesNotExist()
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        AutomationToken.objects.filter(id=token.id, revoked_at__isnull=True).update(revoked_at=token.revoked_at)
    return token


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
