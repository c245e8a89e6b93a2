"""At every sign-in through a provider, its group mapping is applied (``identity.mapping``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest

from .mapping import apply_groups


def _claims(sociallogin: Any) -> dict[str, Any]:
    data = sociallogin.account.extra_data or {}
    claims: dict[str, Any] = {}
    for part in ("id_token", "userinfo"):  # userinfo wins, as in allauth's own reading
        if isinstance(data.get(part), dict):
            claims |= data[part]
    return claims or data


def on_social_login(sender: Any, request: HttpRequest, user: User, sociallogin: Any = None, **kwargs: Any) -> None:
    """Apply the OpenID provider's group map to the person who just signed in with it."""
    if sociallogin is None:
        return
    provider = settings.WHARF_OIDC_BY_ID.get(sociallogin.account.provider)
    if provider is None or not provider.group_map:
        return
    groups = _claims(sociallogin).get(provider.groups_claim) or []
    if isinstance(groups, str):
        groups = [groups]
    changes = apply_groups(user=user, groups=[str(g) for g in groups], rules=provider.group_map, via=provider.name)
    if changes:
        messages.info(request, f"{provider.name} added you to: {', '.join(changes)}.")
