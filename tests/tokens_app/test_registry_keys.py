"""The keys registry bearer tokens are signed with: generated per installation, published as a JWK Set
for other services, rotated (the new key signs, the old ones verify until their tokens expire), and
shared by the nodes of a deployment through the database."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import jwt
import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tokens_app import registry_tokens
from tokens_app.models import SigningKey

HOST = "registry.example"


@pytest.fixture(autouse=True)
def keys_of_this_test() -> Iterator[None]:
    """The keys this process remembers belong to the test's database, rolled back after it."""
    registry_tokens.keyring.forget()
    yield
    registry_tokens.keyring.forget()


def issue() -> str:
    token, _, _ = registry_tokens.issue(username="", service=HOST, access={"acme/app": ["pull"]}, scopes=[])
    return token


def kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def test_migrating_makes_the_installations_key(db: None) -> None:
    (key,) = SigningKey.objects.all()
    assert kid(issue()) == key.kid


def test_a_database_without_a_key_gets_one_at_the_first_token(db: None) -> None:
    SigningKey.objects.all().delete()
    registry_tokens.keyring.forget()
    token = issue()
    (key,) = SigningKey.objects.all()
    assert kid(token) == key.kid
    assert key.private_key.startswith("-----BEGIN PRIVATE KEY-----")
    assert issue()
    assert SigningKey.objects.count() == 1


def test_another_service_verifies_a_token_with_the_published_keys(client: Client, db: None) -> None:
    token = issue()
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "max-age=60" in response["Cache-Control"]
    (published,) = response.json()["keys"]
    assert published["kid"] == kid(token)
    assert (published["kty"], published["crv"], published["alg"], published["use"]) == ("EC", "P-256", "ES256", "sig")
    assert "d" not in published  # never the private part
    key = jwt.PyJWKSet.from_dict(response.json())[kid(token)]
    claims = jwt.decode(token, key, algorithms=["ES256"], audience=HOST, issuer="wharf")
    assert claims["access"] == [{"type": "repository", "name": "acme/app", "actions": ["pull"]}]


def test_a_rotated_key_verifies_its_tokens_until_they_expire(db: None, settings: Any) -> None:
    before = issue()
    out = io.StringIO()
    call_command("rotate_registry_key", stdout=out)
    after = issue()
    assert kid(after) != kid(before)
    assert out.getvalue().startswith(f"signing with {kid(after)}; still verifying: {kid(before)}")
    assert registry_tokens.verify(before, service=HOST).access == {"acme/app": frozenset({"pull"})}
    assert registry_tokens.verify(after, service=HOST).access == {"acme/app": frozenset({"pull"})}
    assert {k["kid"] for k in registry_tokens.jwks()["keys"]} == {kid(before), kid(after)}

    window = settings.WHARF_REGISTRY_TOKEN_SECONDS + registry_tokens.CLOCK_SKEW_SECONDS
    SigningKey.objects.filter(kid=kid(before)).update(retired_at=timezone.now() - timedelta(seconds=window + 1))
    registry_tokens.keyring.forget()
    with pytest.raises(registry_tokens.BearerRejected) as caught:
        registry_tokens.verify(before, service=HOST)
    assert "unknown key" in caught.value.reason
    assert {k["kid"] for k in registry_tokens.jwks()["keys"]} == {kid(after)}
    call_command("rotate_registry_key", stdout=io.StringIO())
    assert not SigningKey.objects.filter(kid=kid(before)).exists()  # its tokens have all expired: gone
    assert registry_tokens.verify(after, service=HOST).username == ""


def test_a_node_verifies_a_token_signed_with_a_key_another_node_added(db: None, monkeypatch: Any) -> None:
    issue()
    this_node = registry_tokens.keyring
    monkeypatch.setattr(registry_tokens, "keyring", registry_tokens._Keyring())  # the other node
    registry_tokens.rotate()
    theirs = issue()
    monkeypatch.setattr(registry_tokens, "keyring", this_node)
    assert registry_tokens.verify(theirs, service=HOST).access == {"acme/app": frozenset({"pull"})}
    assert kid(issue()) == kid(theirs)  # and signs with the new key from its next token on


def test_keys_of_earlier_versions_are_never_used_and_go_at_the_next_rotation(db: None) -> None:
    legacy = SigningKey.objects.create(secret="ab" * 32)
    registry_tokens.keyring.forget()
    token = issue()
    assert kid(token) != ""
    assert SigningKey.objects.get(kid=kid(token)).id != legacy.id
    registry_tokens.rotate()
    assert not SigningKey.objects.filter(id=legacy.id).exists()
