"""Bearer tokens for the registry (Docker token authentication, "Token Authentication Specification").

JWS compact tokens signed and verified with PyJWT, ES256 only (``ALGORITHMS``: the allow-list every
verification passes, so ``alg: none`` and an HS256 token keyed with the public key are refused). The
signing keys are P-256 keys generated per installation and kept in the database (``SigningKey``; none
ships with the code), so every node of a deployment signs and verifies with the same ones; each token's
header names its key (``kid``, the key's RFC 7638 thumbprint), and ``GET /.well-known/jwks.json``
publishes the public keys so another service can verify tokens itself.

Rotation (``manage.py rotate_registry_key``): a new key becomes the signer at once; the retired keys
keep verifying (and stay in the JWKS) until every token they signed has expired, then go.

Claims: ``iss``, ``sub`` (username or ""), ``aud`` (the registry service), ``iat``, ``nbf``, ``exp``,
``jti``, ``access`` (granted actions per repository) and ``scopes`` (the personal access token's
scopes, so a refusal can name the missing one), for a fine-grained token ``reach`` (its chosen
``packages`` or its ``namespace``, so a refusal outside it answers as for a missing package), for a
repository's automation token ``repository_id``, and for a CI credential (``federation``) its ``role``
on the packages it reaches and its audit-log ``name``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q
from django.utils import timezone
from jwt.algorithms import ECAlgorithm

from packages_app.access import Reach

from .models import SigningKey

ISSUER = "wharf"
ALGORITHMS = ["ES256"]  # the allow-list: nothing else is ever verified
CLOCK_SKEW_SECONDS = 60  # a retired key verifies this long past its last token's expiry
_CLAIMS = ["iss", "sub", "aud", "iat", "nbf", "exp", "jti"]


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
    """A token part's bytes (reading a token's claims without trusting them: tools and tests)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- keys ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Key:
    kid: str
    private: ec.EllipticCurvePrivateKey
    public: ec.EllipticCurvePublicKey
    retired_at: float | None  # epoch seconds

    def verifies_at(self, now: float) -> bool:
        return self.retired_at is None or now < self.retired_at + _verify_window()


def _verify_window() -> float:
    return float(settings.WHARF_REGISTRY_TOKEN_SECONDS) + CLOCK_SKEW_SECONDS


def public_jwk(public: ec.EllipticCurvePublicKey) -> dict[str, Any]:
    """The public key as a JWK (RFC 7517), without ``kid``."""
    jwk: dict[str, Any] = ECAlgorithm.to_jwk(public, as_dict=True)
    return jwk


def thumbprint(public: ec.EllipticCurvePublicKey) -> str:
    """RFC 7638: the SHA-256 of the JWK's required members, in lexical order, without whitespace."""
    jwk = public_jwk(public)
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode()).digest())


def generated_key() -> dict[str, str]:
    """A fresh P-256 key: the ``kid`` and ``private_key`` of a ``SigningKey`` row."""
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return {"kid": thumbprint(private.public_key()), "private_key": pem.decode()}


def new_key() -> SigningKey:
    """A fresh key, stored: it signs from now on (the oldest key not retired is the signer)."""
    return SigningKey.objects.create(**generated_key())


def _load(row: SigningKey) -> _Key:
    private = serialization.load_pem_private_key(row.private_key.encode(), password=None)
    if not isinstance(private, ec.EllipticCurvePrivateKey):
        raise ImproperlyConfigured(f"registry signing key {row.kid} is not an EC key")
    return _Key(row.kid, private, private.public_key(), row.retired_at.timestamp() if row.retired_at else None)


def usable_keys() -> list[SigningKey]:
    """The ES256 keys still in use, oldest first: those not retired, and retired ones whose tokens
    may not have expired yet."""
    since = timezone.now() - timedelta(seconds=_verify_window())
    rows = SigningKey.objects.exclude(private_key="").filter(Q(retired_at__isnull=True) | Q(retired_at__gt=since))
    return list(rows.order_by("id"))


class _Keyring:
    """This process's copy of the keys, read on first use and again when a token names a key it does not
    know (another node's new key): it then also signs with the current key. Signing and verifying with
    known keys read nothing (a request never waits on the database for them)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, _Key] = {}
        self._signer: _Key | None = None

    def reload(self) -> list[_Key]:
        """The usable keys, oldest first, read now; the first one not retired signs."""
        rows = usable_keys()
        if not any(row.retired_at is None for row in rows):
            # Migrations make the first key; this is for a database emptied since (nodes racing here
            # each add one: all then sign with the oldest).
            rows.append(new_key())
        keys = [_load(row) for row in rows]
        with self._lock:
            self._keys = {key.kid: key for key in keys}
            self._signer = next(key for key in keys if key.retired_at is None)
        return keys

    def signer(self) -> _Key:
        with self._lock:
            signer = self._signer
        if signer is None:
            self.reload()
            with self._lock:
                signer = self._signer
        if signer is None:
            raise RuntimeError("no registry signing key after reload")
        return signer

    def verifier(self, kid: str) -> _Key | None:
        with self._lock:
            key = self._keys.get(kid)
        if key is None:
            self.reload()
            with self._lock:
                key = self._keys.get(kid)
        return key

    def forget(self) -> None:
        with self._lock:
            self._keys, self._signer = {}, None


keyring = _Keyring()


def jwks() -> dict[str, Any]:
    """The public keys that verify registry tokens now (RFC 7517 JWK Set), for other services."""
    keys = keyring.reload()
    return {"keys": [{**public_jwk(k.public), "kid": k.kid, "use": "sig", "alg": "ES256"} for k in keys]}


def rotate() -> SigningKey:
    """Retire the signing keys and start signing with a new one; drop keys whose tokens have all expired."""
    now = timezone.now()
    SigningKey.objects.filter(retired_at__isnull=True).update(retired_at=now)
    key = new_key()
    usable = {row.id for row in usable_keys()}
    SigningKey.objects.exclude(id__in=usable).delete()  # including earlier versions' HS256 keys
    keyring.forget()
    return key


# --- tokens -------------------------------------------------------------------------------------------


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
    key = keyring.signer()
    return jwt.encode(claims, key.private, algorithm="ES256", headers={"kid": key.kid}), now, lifetime


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
    """Check algorithm, key, signature, issuer, audience and time window strictly; return what the
    token grants."""
    claims = _verified_claims(token, service)
    now = time.time()  # the bearer cache's clock too (PyJWT's own time checks are off for that)
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= now or claims.get("nbf", 0) > now:
        raise BearerRejected("bearer token has expired")
    return _grant(claims)


def _verified_claims(token: str, service: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError:
        raise BearerRejected("malformed bearer token") from None
    if header.get("alg") not in ALGORITHMS:
        raise BearerRejected("unsupported bearer token")
    key = keyring.verifier(str(header.get("kid", "")))
    if key is None or not key.verifies_at(time.time()):
        raise BearerRejected("bearer token was signed with an unknown key")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.public,
            algorithms=ALGORITHMS,
            audience=service,
            issuer=ISSUER,
            options={"require": _CLAIMS, "verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except jwt.InvalidSignatureError:
        raise BearerRejected("invalid bearer token signature") from None
    except (jwt.InvalidAudienceError, jwt.InvalidIssuerError):
        raise BearerRejected("bearer token was issued for another service") from None
    except jwt.InvalidTokenError:
        raise BearerRejected("malformed bearer token") from None
    return claims


def _grant(claims: dict[str, Any]) -> Grant:
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
