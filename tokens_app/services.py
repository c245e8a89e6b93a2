"""Personal access tokens: create (shown once), authenticate (``tokens_app.base``: one query,
constant-time), revoke. A repository's automation tokens are issued and revoked by
``repositories.services``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from django.contrib.auth.models import User
from django.utils import timezone

from errors import InvalidInput

from . import credentials
from .base import TokenRejected as TokenRejected  # re-exported: what every authenticate path raises
from .models import PersonalAccessToken, Scope
from .reach import clean_organization, clean_packages


def normalize_scopes(scopes: Iterable[str]) -> list[str]:
    """write implies read; delete needs read (REGISTRY.md "Personal access tokens")."""
    chosen = set(scopes)
    unknown = chosen - set(Scope.values)
    if unknown:
        raise InvalidInput(f"Unknown scope: {', '.join(sorted(unknown))}", code="scope")
    if not chosen:
        raise InvalidInput("Choose at least one scope.", code="scope")
    if chosen & {Scope.WRITE, Scope.DELETE}:
        chosen.add(Scope.READ)
    return [s for s in Scope.values if s in chosen]


@dataclass(frozen=True)
class NewToken:
    token: PersonalAccessToken
    plaintext: str


def token_create(
    *,
    user: User,
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
        raise InvalidInput("Give the token a note so you can recognise it later.", code="note")
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput("The expiry date must be in the future.", code="expiry")
    packages = list(packages)
    if packages and organization:
        raise InvalidInput("Limit a token to chosen packages or to one organization, not both.", code="reach")
    chosen = clean_packages(user=user, names=packages) if packages else []
    org = clean_organization(user=user, name=organization) if organization else None
    token, plaintext = PersonalAccessToken.issue(
        user=user, note=note, scopes=normalize_scopes(scopes), expires_at=expires_at, packages=chosen, organization=org
    )
    return NewToken(token, plaintext)


def token_authenticate(*, username: str, secret: str) -> PersonalAccessToken:
    """The active token ``secret`` of user ``username``, or TokenRejected. Passwords are never accepted."""
    return cast(PersonalAccessToken, credentials.authenticate(secret, username, only=(PersonalAccessToken,)).token)


def token_revoke(*, user: User, token_id: int) -> None:
    updated = PersonalAccessToken.objects.filter(id=token_id, user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if not updated and not PersonalAccessToken.objects.filter(id=token_id, user=user).exists():
        raise PersonalAccessToken.DoesNotExist()
