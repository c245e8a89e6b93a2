"""Bearer tokens for the registry (Docker token authentication, "Token Authentication Specification").

Compact JWS (HS256) signed with a per-installation key kept in the database (``SigningKey``: generated
on first use, none ships with the code). Claims: ``iss``, ``sub`` (username or ""), ``aud`` (the
registry service), ``iat``, ``nbf``, ``exp``, ``jti``, ``access`` (granted actions per repository) and
``scopes`` (the personal access token's scopes, so a refusal can name the missing one), for a
fine-grained token ``reach`` (its chosen ``packages`` or its ``namespace``, so a refusal outside it answers
as for a missing package), for a repository's automation token ``repository_id``, and for a CI
credential (``federation``) its ``role`` on the packages it reaches and its audit-log ``name``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.conf import settings

from packages_app.access import Reach

from .models import SigningKey

ISSUER = "wharf"
_HEADER = {"alg": "HS256", "typ": "JWT"}


class BearerRejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Grant:
    """What a verified bearer token allows."""

    username: str
    access: dict[str, frozenset[str]] = field(default_factory=dict)
    scopes: frozenset[str] = frozenset()
    expires_at: int = 0
    repository_id: int | None = None  # issued to a repository's automation token
    reach: Reach | None = None  # issued to a fine-grained token
    role: int | None = None  # issued to a CI credential bound to packages
    name: str = ""  # issued to a CI credential: who it is in the audit log


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@cache
def _key() -> bytes:
    if not SigningKey.objects.exists():
        SigningKey.objects.create(secret=secrets.token_hex(32))
    # Workers racing on first use may each create a row: all of them use the oldest.
    key = SigningKey.objects.order_by("id").first()
    assert key is not None
    return bytes.fromhex(key.secret)


def _sign(message: bytes) -> str:
    return _b64(hmac.new(_key(), message, hashlib.sha256).digest())


def issue(
    *,
    username: str,
    service: str,
    access: dict[str, list[str]],
    scopes: list[str],
    repository_id: int | None = None,
    reach: Reach | None = None,
    role: int | None = None,
    name: str = "",
) -> tuple[str, int, int]:
    """A signed token; returns (token, issued_at, expires_in)."""
    now = int(time.time())
    lifetime = int(settings.WHARF_REGISTRY_TOKEN_SECONDS)
    claims = {
        "iss": ISSUER,
        "sub": username,
        "aud": service,
        "iat": now,
        "nbf": now - 5,
        "exp": now + lifetime,
        "jti": secrets.token_hex(8),
        "access": [{"type": "repository", "name": n, "actions": sorted(a)} for n, a in access.items()],
        "scopes": scopes,
    }
    if repository_id is not None:
        claims["repository_id"] = repository_id
    if reach is not None:
        claims["reach"] = _reach_claim(reach)
    if role is not None:
        claims["role"] = int(role)
    if name:
        claims["name"] = name
    signing_input = f"{_b64(json.dumps(_HEADER).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_sign(signing_input.encode())}", now, lifetime


def _reach_claim(reach: Reach) -> dict[str, Any]:
    if reach.packages is not None:
        return {"packages": sorted(reach.packages)}
    return {"namespace": reach.namespace}


def _reach(claim: Any) -> Reach | None:
    if not isinstance(claim, dict):
        return None
    if isinstance(claim.get("packages"), list):
        return Reach(packages=frozenset(str(name) for name in claim["packages"]))
    return Reach(namespace=str(claim.get("namespace", "")))


def verify(token: str, *, service: str) -> Grant:
    """Check signature, time window and audience strictly; return what the token grants."""
    try:
        header_b64, claims_b64, signature = token.split(".")
        header = json.loads(_unb64(header_b64))
        claims: dict[str, Any] = json.loads(_unb64(claims_b64))
    except ValueError:
        raise BearerRejected("malformed bearer token") from None
    if header != _HEADER:
        raise BearerRejected("unsupported bearer token")
    if not hmac.compare_digest(signature, _sign(f"{header_b64}.{claims_b64}".encode())):
        raise BearerRejected("invalid bearer token signature")
    now = time.time()
    if claims.get("iss") != ISSUER or claims.get("aud") != service:
        raise BearerRejected("bearer token was issued for another service")
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= now or claims.get("nbf", 0) > now:
        raise BearerRejected("bearer token has expired")
    access = {
        entry["name"]: frozenset(entry.get("actions", []))
        for entry in claims.get("access", [])
        if isinstance(entry, dict) and entry.get("type") == "repository" and isinstance(entry.get("name"), str)
    }
    repository_id = claims.get("repository_id")
    return Grant(
        str(claims.get("sub", "")),
        access,
        frozenset(claims.get("scopes", [])),
        int(claims["exp"]),
        repository_id if isinstance(repository_id, int) else None,
        _reach(claims.get("reach")),
        claims["role"] if isinstance(claims.get("role"), int) else None,
        str(claims.get("name", "")),
    )
