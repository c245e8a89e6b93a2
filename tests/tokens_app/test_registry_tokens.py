from __future__ import annotations

import json
from typing import Any

import pytest

from tokens_app import registry_tokens


@pytest.fixture
def token(db: None) -> str:
    value, _, _ = registry_tokens.issue(
        username="alice", service="registry.example", access={"acme/app": ["pull", "push"]}, scopes=["read:packages"]
    )
    return value


def test_it_round_trips_the_grants(token: str) -> None:
    grant = registry_tokens.verify(token, service="registry.example")
    assert grant.username == "alice"
    assert grant.access == {"acme/app": frozenset({"pull", "push"})}
    assert grant.scopes == frozenset({"read:packages"})


def test_it_refuses_a_token_for_another_service(token: str) -> None:
    with pytest.raises(registry_tokens.BearerRejected):
        registry_tokens.verify(token, service="other.example")


def test_it_refuses_a_token_with_forged_claims(token: str) -> None:
    header, claims, signature = token.split(".")
    forged = json.loads(registry_tokens._unb64(claims))
    forged["access"][0]["actions"] = ["pull", "push", "delete"]
    forged_claims = registry_tokens._b64(json.dumps(forged).encode())
    with pytest.raises(registry_tokens.BearerRejected):
        registry_tokens.verify(f"{header}.{forged_claims}.{signature}", service="registry.example")


def test_it_refuses_an_expired_token(settings: Any, db: None) -> None:
    settings.WHARF_REGISTRY_TOKEN_SECONDS = -10
    value, _, _ = registry_tokens.issue(username="alice", service="s", access={}, scopes=[])
    with pytest.raises(registry_tokens.BearerRejected) as caught:
        registry_tokens.verify(value, service="s")
    assert "expired" in caught.value.reason


def test_it_refuses_garbage(db: None) -> None:
    for value in ["", "a.b", "a.b.c", "x" * 50]:
        with pytest.raises(registry_tokens.BearerRejected):
            registry_tokens.verify(value, service="s")
