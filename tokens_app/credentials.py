"""The one path from a raw credential to an ``Actor``, for the registry (``v2api/auth.py``, ``/token``)
and the REST API (``api/authentication.py``) alike.

A credential is ``Basic user:secret`` or a secret alone; the secret is one of the kinds of token
derived from ``tokens_app.base.SecretToken`` (personal access tokens, automation tokens, ``federation``'s
CI credentials), told apart by their prefix. The kinds are found among the installed models, so this
module imports none of the apps that define them. A password is never accepted.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from functools import cache

from django.apps import apps

from packages_app.access import Actor

from .base import SecretToken, TokenRejected

NOT_A_TOKEN = "use a personal access token (wharf_pat_...), not a password"  # noqa: S105 - an error message
MALFORMED_BASIC = "malformed Basic credentials"


@dataclass(frozen=True)
class Authenticated:
    token: SecretToken  # the row, e.g. to say which token called
    actor: Actor


def basic_credentials(header: str) -> tuple[str, str] | None:
    """``(username, secret)`` from an ``Authorization: Basic`` header; None for another scheme or none."""
    if not header.lower().startswith("basic "):
        return None
    try:
        username, _, secret = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise TokenRejected(MALFORMED_BASIC) from None
    return username, secret


@cache
def kinds() -> tuple[type[SecretToken], ...]:
    """Every concrete token model (their prefixes do not overlap)."""
    return tuple(model for model in apps.get_models() if issubclass(model, SecretToken))


def authenticate(
    secret: str, username: str | None = None, *, only: tuple[type[SecretToken], ...] | None = None
) -> Authenticated:
    """The actor of ``secret`` (sent with ``username``, or alone: None), of one of the kinds ``only``
    (default: every kind), or TokenRejected with a reason safe to show the client."""
    kind = next((k for k in (only or kinds()) if k.owns(secret)), None)
    if kind is None:
        raise TokenRejected(NOT_A_TOKEN)
    token = kind.authenticate(secret, username)
    return Authenticated(token, token.as_actor())
