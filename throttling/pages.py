"""Limits of web pages that the registry's middleware does not cover: creating personal access tokens
(``WHARF_RATE_LIMIT_TOKEN_CREATION`` attempts per ``WHARF_RATE_LIMIT_WINDOW_SECONDS``, per user and per
client address, on by default). Sign-in, sign-up and password reset are limited by allauth itself."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from . import limiter
from .addresses import client_address


def token_creation_wait(request: HttpRequest) -> int | None:
    """Count one token-creation attempt; None while within both budgets, else seconds to wait."""
    limit = int(settings.WHARF_RATE_LIMIT_TOKEN_CREATION)
    waits = [
        limiter.hit(f"pat-new:user:{request.user.pk}", limit),
        limiter.hit(f"pat-new:addr:{client_address(request)}", limit),
    ]
    return max((w for w in waits if w is not None), default=None)
