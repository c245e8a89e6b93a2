"""Reads of personal access tokens, for the token page and the REST API: a person sees only their own."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet

from .models import PersonalAccessToken
from .reach import reach_data


def tokens_visible(*, user: User, only: int | None = None) -> QuerySet[PersonalAccessToken]:
    """The user's tokens, newest first (``only``: just that one)."""
    tokens = PersonalAccessToken.objects.filter(user=user.pk).select_related("organization")
    return tokens.filter(id=only) if only is not None else tokens


def token_of(*, user: User, token_id: int) -> PersonalAccessToken:
    """One of ``user``'s tokens; DoesNotExist for anyone else's (the same as a missing one)."""
    return PersonalAccessToken.objects.get(user=user.pk, id=token_id)


def token_data(token: PersonalAccessToken) -> dict[str, Any]:
    """A token as the REST API shows it: never its secret."""
    return {
        "id": token.id,
        "note": token.note,
        "prefix": token.prefix,
        "scopes": list(token.scopes),
        "reach": reach_data(token),
        "active": token.is_active,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
    }


def organization_names(*, user: User) -> list[str]:
    """The organizations a token of ``user`` may be limited to: those they belong to."""
    return list(user.organizations.order_by("name").values_list("name", flat=True))


def has_password(*, user: User) -> bool:
    """Whether ``user`` has a Wharf password (people who sign in through a provider have none)."""
    return bool(user.has_usable_password())
