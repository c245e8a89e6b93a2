"""Personal access tokens: create (shown once), authenticate (constant-time), revoke."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from .models import AutomationToken, PersonalAccessToken, Scope
from .reach import clean_organization, clean_packages

TOKEN_PREFIX = "wharf_pat_"
_LOOKUP_LENGTH = 12
_SECRET_LENGTH = 32


class TokenRejected(Exception):
    """Credentials that are not an active token of that user. ``reason`` is safe to show the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _digest(token: str) -> str:
    key = f"wharf-pat:{settings.SECRET_KEY}".encode()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def normalize_scopes(scopes: Iterable[str]) -> list[str]:
    """write implies read; delete needs read (REGISTRY.md "Personal access tokens")."""
    chosen = set(scopes)
    unknown = chosen - set(Scope.values)
    if unknown:
        raise ValidationError(f"Unknown scope: {', '.join(sorted(unknown))}", code="scope")
    if not chosen:
        raise ValidationError("Choose at least one scope.", code="scope")
    if chosen & {Scope.WRITE, Scope.DELETE}:
        chosen.add(Scope.READ)
    return [s for s in Scope.values if s in chosen]


@dataclass(frozen=True)
class NewToken:
    token: PersonalAccessToken
    plaintext: str


def token_create(
    *,
    user: Any,
    note: str,
    scopes: Iterable[str],
    expires_at: datetime | None,
    packages: Iterable[str] = (),
    organization: str = "",
) -> NewToken:
    """Create a token; its plaintext is returned once and never stored. ``packages`` or ``organization``
    make it fine-grained (``tokens_app.reach``): it then reaches only those packages, or that organization's."""
    note = note.strip()
    if not note:
        raise ValidationError("Give the token a note so you can recognise it later.", code="note")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError("The expiry date must be in the future.", code="expiry")
    packages = list(packages)
    if packages and organization:
        raise ValidationError("Limit a token to chosen packages or to one organization, not both.", code="reach")
    chosen = clean_packages(user=user, names=packages) if packages else []
    org = clean_organization(user=user, name=organization) if organization else None
    lookup = secrets.token_hex(_LOOKUP_LENGTH // 2)
    plaintext = f"{TOKEN_PREFIX}{lookup}{secrets.token_urlsafe(_SECRET_LENGTH)}"
    token = PersonalAccessToken.objects.create(
        user=user,
        note=note,
        scopes=normalize_scopes(scopes),
        prefix=lookup,
        digest=_digest(plaintext),
        expires_at=expires_at,
        packages=chosen,
        organization=org,
    )
    return NewToken(token, plaintext)


def token_authenticate(*, username: str, secret: str) -> PersonalAccessToken:
    """The active token ``secret`` of user ``username``, or TokenRejected. Passwords are never accepted."""
    if not secret.startswith(TOKEN_PREFIX):
        raise TokenRejected("use a personal access token (wharf_pat_...), not a password")
    lookup = secret[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + _LOOKUP_LENGTH]
    token = PersonalAccessToken.objects.select_related("user", "organization").filter(prefix=lookup).first()
    expected = token.digest if token else _digest("no such token")
    if not hmac.compare_digest(expected, _digest(secret)) or token is None:
        raise TokenRejected("invalid username or token")
    if token.user.username != username.lower() or not token.user.is_active:
        raise TokenRejected("invalid username or token")
    if token.revoked_at is not None:
        raise TokenRejected("this personal access token was revoked")
    if token.is_expired:
        raise TokenRejected("this personal access token has expired")
    _touch(token)
    return token


def _touch(token: PersonalAccessToken) -> None:
    """Record last use, at most once a minute (a push makes many requests)."""
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        PersonalAccessToken.objects.filter(id=token.id).update(last_used_at=now)
        token.last_used_at = now


def token_revoke(*, user: Any, token_id: int) -> None:
    updated = PersonalAccessToken.objects.filter(id=token_id, user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if not updated and not PersonalAccessToken.objects.filter(id=token_id, user=user).exists():
        raise PersonalAccessToken.DoesNotExist()


# --- repository automation tokens (the analogue of GitHub Actions' GITHUB_TOKEN) ------------------

AUTOMATION_PREFIX = "wharf_ats_"


@dataclass(frozen=True)
class NewAutomationToken:
    token: AutomationToken
    plaintext: str


def automation_token_issue(*, repository: Any, user: Any) -> NewAutomationToken:
    """A short-lived (``WHARF_AUTOMATION_TOKEN_SECONDS``) token for ``repository``, issued by one of its
    admins; its plaintext is returned once and never stored."""
    from packages_app.access import repository_role
    from packages_app.models import Role

    if repository_role(user, repository.id) != Role.ADMIN:
        raise PermissionDenied("Only the repository's admins can issue its automation tokens.")
    lookup = secrets.token_hex(_LOOKUP_LENGTH // 2)
    plaintext = f"{AUTOMATION_PREFIX}{lookup}{secrets.token_urlsafe(_SECRET_LENGTH)}"
    expires_at = timezone.now() + timedelta(seconds=settings.WHARF_AUTOMATION_TOKEN_SECONDS)
    token = AutomationToken.objects.create(
        repository=repository, created_by=user, prefix=lookup, digest=_digest(plaintext), expires_at=expires_at
    )
    return NewAutomationToken(token, plaintext)


def is_automation_token(secret: str) -> bool:
    return secret.startswith(AUTOMATION_PREFIX)


def automation_token_authenticate(*, secret: str) -> AutomationToken:
    """The active automation token ``secret`` (any username goes with it, as with GITHUB_TOKEN)."""
    lookup = secret[len(AUTOMATION_PREFIX) : len(AUTOMATION_PREFIX) + _LOOKUP_LENGTH]
    token = AutomationToken.objects.select_related("repository").filter(prefix=lookup).first()
    expected = token.digest if token else _digest("no such token")
    if not hmac.compare_digest(expected, _digest(secret)) or token is None:
        raise TokenRejected("invalid username or token")
    if token.revoked_at is not None:
        raise TokenRejected("this automation token was revoked")
    if not token.is_active:
        raise TokenRejected("this automation token has expired")
    if token.last_used_at is None or (timezone.now() - token.last_used_at).total_seconds() > 60:
        AutomationToken.objects.filter(id=token.id).update(last_used_at=timezone.now())
    return token


def automation_token_revoke(*, token_id: int, user: Any) -> None:
    from packages_app.access import repository_role
    from packages_app.models import Role

    token = AutomationToken.objects.filter(id=token_id).first()
    if token is None or repository_role(user, token.repository_id) != Role.ADMIN:
        raise AutomationToken.DoesNotExist()
    AutomationToken.objects.filter(id=token_id, revoked_at__isnull=True).update(revoked_at=timezone.now())


def token_authenticate_bearer(*, secret: str) -> PersonalAccessToken:
    """A personal access token sent alone (``Authorization: Bearer``): the token names its user."""
    if not secret.startswith(TOKEN_PREFIX):
        raise TokenRejected("use a personal access token (wharf_pat_...)")
    lookup = secret[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + _LOOKUP_LENGTH]
    token = PersonalAccessToken.objects.select_related("user").filter(prefix=lookup).first()
    return token_authenticate(username=token.user.username if token else "", secret=secret)
