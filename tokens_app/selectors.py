"""Reads for personal access tokens: a person sees only their own."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from .models import PersonalAccessToken


def tokens_of(*, user: Any) -> QuerySet[PersonalAccessToken]:
    return PersonalAccessToken.objects.filter(user=user.pk)


def token_of(*, user: Any, token_id: int) -> PersonalAccessToken:
    """One of ``user``'s tokens; DoesNotExist for anyone else's (the same as a missing one)."""
    return PersonalAccessToken.objects.get(user=user.pk, id=token_id)
