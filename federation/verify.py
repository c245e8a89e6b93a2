"""Verifying a CI job's OIDC token (a JWT) against its issuer, with PyJWT.

The issuer's keys come from its JWKS, found through OpenID discovery
(``{issuer}/.well-known/openid-configuration`` → ``jwks_uri``) and fetched over HTTP(S). Only
asymmetric algorithms are accepted (an explicit allow-list: never ``none`` nor an HMAC, so a token
"signed" with the issuer's public key as an HS256 secret is refused before any key is looked at).
``exp``, ``iss``, ``aud`` and ``sub`` are required; ``nbf`` is checked when present.
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import jwt
from jwt import PyJWKClient

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
LEEWAY_SECONDS = 30
_FETCH_TIMEOUT = 5
_CACHE_SECONDS = 300
_clients: dict[str, tuple[float, PyJWKClient]] = {}


class Refused(Exception):
    """A CI token that is not accepted. ``reason`` is safe to show the CI job."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def unverified_issuer(token: str) -> str:
    """The ``iss`` a token claims, once its algorithm is one we accept (nothing is trusted yet)."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise Refused("the CI token is not a JWT") from None
    if header.get("alg") not in ALGORITHMS:
        raise Refused(f"the CI token's algorithm {header.get('alg')!r} is not accepted (only RS, PS, ES and EdDSA)")
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise Refused("the CI token names no issuer (iss)")
    return issuer


def _fetch_json(url: str) -> Any:
    """JSON from an issuer's http(s) URL (an issuer an admin registered; never ``file:`` or another scheme)."""
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"not an http(s) URL: {url!r}")
    with urllib.request.urlopen(url, timeout=_FETCH_TIMEOUT) as answer:  # noqa: S310 - the scheme is checked above
        return json.loads(answer.read(1_000_000))


def _jwks_client(issuer: str) -> PyJWKClient:
    cached = _clients.get(issuer)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    try:
        jwks_uri = _fetch_json(issuer.rstrip("/") + "/.well-known/openid-configuration")["jwks_uri"]
    except (OSError, ValueError, KeyError, TypeError):
        raise Refused("the issuer's OpenID configuration could not be fetched") from None
    client = PyJWKClient(str(jwks_uri), cache_keys=True, lifespan=_CACHE_SECONDS, timeout=_FETCH_TIMEOUT)
    _clients[issuer] = (time.monotonic() + _CACHE_SECONDS, client)
    return client


def verify(token: str, *, issuer: str, audience: str) -> dict[str, Any]:
    """The token's claims, once its signature (by a key of ``issuer``'s JWKS), issuer, audience and
    time window are checked."""
    try:
        key = _jwks_client(issuer).get_signing_key_from_jwt(token)
    except jwt.PyJWKClientConnectionError:
        raise Refused("the issuer's keys (JWKS) could not be fetched") from None
    except jwt.PyJWTError:
        raise Refused("the CI token's signing key (kid) is not one of the issuer's keys") from None
    try:
        return dict(
            jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=audience,
                issuer=issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        )
    except jwt.ExpiredSignatureError:
        raise Refused("the CI token has expired") from None
    except jwt.ImmatureSignatureError:
        raise Refused("the CI token is not valid yet (nbf)") from None
    except jwt.InvalidAudienceError:
        raise Refused(f"the CI token was not issued for this audience (expected {audience!r})") from None
    except jwt.InvalidIssuerError:
        raise Refused("the CI token was issued by another issuer") from None
    except jwt.MissingRequiredClaimError as exc:
        raise Refused(f"the CI token lacks the {exc.claim!r} claim") from None
    except jwt.PyJWTError:
        raise Refused("the CI token's signature is not valid") from None
