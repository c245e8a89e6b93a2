"""Registry bearer tokens that must be refused on /v2 with 401, the challenge and ``invalid_token``:
no algorithm, HS256 keyed with the public key (algorithm confusion), a key the registry does not have,
a tampered payload, an expired token and another audience. alice owns acme."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client

from tests.conftest import basic, make_pat
from tests.v2api.test_auth import HOST, bearer
from tokens_app import registry_tokens

REALM = f'Bearer realm="http://{HOST}/token",service="{HOST}"'


def _b64(data: bytes) -> str:
    return jwt.utils.base64url_encode(data).decode()


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": "wharf", "sub": "alice", "aud": HOST, "iat": now, "nbf": now - 5, "exp": now + 600, "jti": "x"}
    base["access"] = [{"type": "repository", "name": "acme/app", "actions": ["pull", "push", "delete"]}]
    return {**base, **changes}


def signer_kid() -> str:
    return registry_tokens.keyring.signer().kid


def unsigned() -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": signer_kid()}).encode())
    return f"{header}.{_b64(json.dumps(claims()).encode())}."


def hs256_with_the_public_key() -> str:
    key = registry_tokens.keyring.signer()
    pem = key.public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key.kid}).encode())
    body = _b64(json.dumps(claims()).encode())
    signature = hmac.new(pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(signature)}"


def unknown_kid() -> str:
    other = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(claims(), other, algorithm="ES256", headers={"kid": "not-a-key-of-ours"})


def known_kid_other_key() -> str:
    other = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(claims(), other, algorithm="ES256", headers={"kid": signer_kid()})


def tampered(client: Client, owner: Any) -> str:
    token = bearer(client, basic("alice", make_pat(owner)), "repository:acme/app:pull")[7:]
    header, body, signature = token.split(".")
    forged = json.loads(jwt.utils.base64url_decode(body))
    forged["access"] = claims()["access"]
    return f"{header}.{_b64(json.dumps(forged).encode())}.{signature}"


def signed(**changes: Any) -> Callable[[], str]:
    """A token signed with the registry's own key, its claims changed (times relative to now: seconds)."""

    def make() -> str:
        key = registry_tokens.keyring.signer()
        now = int(time.time())
        relative = {name: now + value for name, value in changes.items() if name in ("exp", "nbf") and value}
        return jwt.encode(claims(**{**changes, **relative}), key.private, algorithm="ES256", headers={"kid": key.kid})

    return make


FORGERIES: dict[str, tuple[Callable[..., str], str]] = {
    "alg-none": (unsigned, "unsupported bearer token"),
    "hs256-with-the-public-key": (hs256_with_the_public_key, "unsupported bearer token"),
    "unknown-kid": (unknown_kid, "unknown key"),
    "known-kid-other-key": (known_kid_other_key, "signature"),
    "expired": (signed(exp=-1), "expired"),
    "not-yet-valid": (signed(nbf=600), "expired"),
    "wrong-audience": (signed(aud="elsewhere.example"), "another service"),
    "wrong-issuer": (signed(iss="someone-else"), "another service"),
    "no-expiry": (signed(exp=None), "malformed"),
}


@pytest.mark.parametrize("kind", FORGERIES)
def test_a_forged_token_is_refused_with_the_challenge(client: Client, owner: Any, kind: str) -> None:
    make, reason = FORGERIES[kind]
    token = make()
    response = client.get("/v2/acme/app/tags/list", HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST=HOST)
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert reason in response.json()["errors"][0]["message"]
    assert response["WWW-Authenticate"].startswith(REALM)
    assert response["WWW-Authenticate"].endswith(',error="invalid_token"')


def test_a_tampered_payload_is_refused_with_the_challenge(client: Client, owner: Any) -> None:
    response = client.get("/v2/", HTTP_AUTHORIZATION=f"Bearer {tampered(client, owner)}", HTTP_HOST=HOST)
    assert response.status_code == 401
    assert "signature" in response.json()["errors"][0]["message"]
    assert response["WWW-Authenticate"] == f'{REALM},error="invalid_token"'


def test_the_registry_issues_es256_tokens_naming_their_key(client: Client, owner: Any) -> None:
    token = bearer(client, basic("alice", make_pat(owner)), "repository:acme/app:pull")[7:]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256"
    assert header["kid"] == signer_kid()
    assert client.get("/v2/", HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST=HOST).status_code == 200
