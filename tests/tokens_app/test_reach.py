"""Fine-grained personal access tokens: chosen when created on the token page, shown there and by
``GET /api/user/tokens``, and honoured by the REST API (the registry's side: tests/v2api/test_reach_matrix.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from accounts.services import organization_create
from tests.api.test_packages_api import BASE
from tests.api.test_packages_api import app as app  # the fixture: acme/app, acme/tools/builder
from tokens_app.models import PersonalAccessToken
from tokens_app.services import token_create

ALL = ["read:packages", "write:packages", "delete:packages"]


def pat(user: Any, **limit: Any) -> str:
    return token_create(user=user, note="ci", scopes=ALL, expires_at=None, **limit).plaintext


def bearer(token: str) -> dict[str, Any]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_a_token_may_be_limited_to_packages_the_user_reads_or_may_create(app: Any, owner: Any) -> None:
    token = token_create(
        user=owner, note="ci", scopes=ALL, expires_at=None, packages=["acme/app", "acme/new", "acme/app"]
    ).token
    assert token.packages == ["acme/app", "acme/new"]


def test_a_hidden_package_is_refused_in_the_same_words_as_a_missing_one(app: Any, outsider: Any) -> None:
    messages = []
    for name in ("acme/app", "zeta/none"):
        with pytest.raises(ValidationError) as refused:
            token_create(user=outsider, note="x", scopes=ALL, expires_at=None, packages=[name])
        messages.append(refused.value.messages[0].replace(name, "NAME"))
    assert messages[0] == messages[1]
    assert not PersonalAccessToken.objects.filter(user=outsider).exists()


def test_a_token_is_limited_to_an_organization_only_by_its_members(app: Any, owner: Any, outsider: Any) -> None:
    assert token_create(user=owner, note="x", scopes=ALL, expires_at=None, organization="acme").token.organization
    with pytest.raises(ValidationError):
        token_create(user=outsider, note="x", scopes=ALL, expires_at=None, organization="acme")
    with pytest.raises(ValidationError):
        token_create(user=owner, note="x", scopes=ALL, expires_at=None, organization="acme", packages=["acme/app"])


def test_the_token_page_creates_a_package_limited_token_and_lists_its_reach(app: Any, owner: Any) -> None:
    client = Client()
    client.force_login(owner)
    form = {"note": "deploy", "scopes": ["read:packages"], "expiration": "30", "reach": "packages"}
    created = client.post("/settings/tokens/new", form | {"packages": "acme/app, acme/tools/builder"})
    assert created.status_code == 200
    assert "only acme/app, acme/tools/builder" in created.content.decode()
    assert PersonalAccessToken.objects.get(note="deploy").packages == ["acme/app", "acme/tools/builder"]

    organization_create(name="beta", owner=owner)
    client.post("/settings/tokens/new", form | {"note": "beta ci", "reach": "organization", "organization": "beta"})
    listing = client.get("/settings/tokens/").content.decode()
    assert '<span class="badge">acme/app</span>' in listing
    assert '<span class="badge">beta/*</span>' in listing


def test_the_token_page_refuses_an_empty_package_list(app: Any, owner: Any) -> None:
    client = Client()
    client.force_login(owner)
    form = {"note": "deploy", "scopes": ["read:packages"], "expiration": "30", "reach": "packages", "packages": " "}
    response = client.post("/settings/tokens/new", form)
    assert "Name at least one package." in response.content.decode()
    assert not PersonalAccessToken.objects.filter(note="deploy").exists()


def test_the_api_lists_each_tokens_reach_and_a_limited_token_sees_only_itself(app: Any, owner: Any) -> None:
    client = Client()
    full = pat(owner)
    limited = pat(owner, packages=["acme/app"])
    pat(owner, organization="acme")

    rows = client.get("/api/user/tokens", **bearer(full)).json()
    assert sorted(r["reach"]["kind"] for r in rows) == ["all", "organization", "packages"]
    assert {"kind": "organization", "organization": "acme"} in [r["reach"] for r in rows]
    assert all("digest" not in r and set(r) >= {"prefix", "scopes", "reach"} for r in rows)

    own = client.get("/api/user/tokens", **bearer(limited)).json()
    assert [r["reach"] for r in own] == [{"kind": "packages", "packages": ["acme/app"]}]
    assert own[0]["prefix"] == limited[10:22]


def test_the_rest_api_answers_404_outside_the_reach_as_for_a_missing_package(app: Any, owner: Any) -> None:
    client = Client()
    builder_only = pat(owner, packages=["acme/tools/builder"])
    elsewhere = client.get(f"{BASE}/ghost", **bearer(pat(owner)))
    hidden = client.get(f"{BASE}/app", **bearer(builder_only))
    assert hidden.status_code == elsewhere.status_code == 404
    assert hidden.content == elsewhere.content
    assert client.get(f"{BASE}/tools%2Fbuilder", **bearer(builder_only)).status_code == 200
    listed = client.get("/api/orgs/acme/packages", **bearer(builder_only)).json()
    assert [p["name"] for p in listed] == ["tools/builder"]
    assert client.delete(f"{BASE}/app", **bearer(builder_only)).status_code == 404
    assert client.get(f"{BASE}/app", **bearer(pat(owner, packages=["acme/app"]))).status_code == 200


def test_a_public_package_outside_the_reach_is_read_but_not_changed(app: Any, owner: Any) -> None:
    client = Client()
    app_only = pat(owner, packages=["acme/app"])
    assert client.get(f"{BASE}/tools%2Fbuilder", **bearer(app_only)).status_code == 200
    assert client.delete(f"{BASE}/tools%2Fbuilder", **bearer(app_only)).status_code == 404


def test_the_token_page_tells_people_without_a_password_to_give_docker_a_token(owner: Any, outsider: Any) -> None:
    outsider.set_unusable_password()
    outsider.save()
    client = Client()
    client.force_login(outsider)
    assert 'id="no-password-note"' in client.get("/settings/tokens/").content.decode()
    client.force_login(owner)
    assert 'id="no-password-note"' not in client.get("/settings/tokens/").content.decode()
