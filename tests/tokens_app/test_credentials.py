"""The one authenticate path (``tokens_app.credentials``): every kind of secret token, found by its
prefix, in one query and a constant-time comparison, turned into the actor the registry and the REST
API act for. alice owns acme; acme/api is a source repository."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Organization
from federation.models import CIToken, TrustedIssuer
from packages_app.access import Reach
from packages_app.models import Role
from repositories.models import SourceRepository
from tests.conftest import basic, make_pat
from tokens_app import credentials
from tokens_app.automation import automation_token_issue
from tokens_app.base import TokenRejected
from tokens_app.models import AutomationToken, PersonalAccessToken


@pytest.fixture
def repository(owner: Any) -> SourceRepository:
    return SourceRepository.objects.create(owner="acme", name="api", created_by=owner)


@pytest.fixture
def ci_issuer(owner: Any) -> TrustedIssuer:
    organization = Organization.objects.get(name="acme")
    return TrustedIssuer.objects.create(
        organization=organization, name="ci", issuer="https://ci.example", audience="wharf", rule="true",
        packages=["acme/app"], role=Role.READ,
    )  # fmt: skip


def test_every_token_model_is_a_kind_with_its_own_prefix() -> None:
    assert set(credentials.kinds()) == {PersonalAccessToken, AutomationToken, CIToken}
    assert len({kind.PREFIX for kind in credentials.kinds()}) == 3


def test_a_personal_access_token_stands_for_its_user_with_its_scopes_and_reach(owner: Any) -> None:
    plaintext = make_pat(owner, "write:packages")
    PersonalAccessToken.objects.update(packages=["acme/app"])
    found = credentials.authenticate(plaintext, "Alice")
    assert found.actor.user == owner
    assert found.actor.scopes == frozenset({"read:packages", "write:packages"})
    assert found.actor.reach == Reach(packages=frozenset({"acme/app"}))
    assert credentials.authenticate(plaintext).actor.user == owner  # alone, it names its user
    with pytest.raises(TokenRejected) as caught:
        credentials.authenticate(plaintext, "eve")
    assert caught.value.reason == "invalid username or token"


def test_an_automation_token_goes_with_any_username(owner: Any, repository: SourceRepository) -> None:
    new = automation_token_issue(repository=repository, user=owner)
    actor = credentials.authenticate(new.plaintext, "whoever").actor
    assert (actor.user, actor.repository_id, actor.scopes) == (
        None,
        repository.id,
        frozenset({"read:packages", "write:packages"}),
    )
    AutomationToken.objects.update(revoked_at=timezone.now())
    with pytest.raises(TokenRejected) as caught:
        credentials.authenticate(new.plaintext, "whoever")
    assert caught.value.reason == "this automation token was revoked"


def test_a_ci_credential_holds_its_issuers_role_on_its_packages(ci_issuer: TrustedIssuer) -> None:
    token, plaintext = CIToken.issue(issuer=ci_issuer, subject="job", expires_at=timezone.now() + timedelta(minutes=5))
    found = credentials.authenticate(plaintext, "ci")
    actor = found.actor
    assert found.token == token
    assert (actor.role, actor.reach, actor.name) == (
        Role.READ,
        Reach(packages=frozenset({"acme/app"})),
        "CI acme/ci (job)",
    )
    assert actor.scopes == frozenset({"read:packages"})
    CIToken.objects.update(expires_at=timezone.now())
    with pytest.raises(TokenRejected) as caught:
        credentials.authenticate(plaintext, "ci")
    assert "expired" in caught.value.reason


def test_only_the_kinds_asked_for_are_accepted(owner: Any, repository: SourceRepository) -> None:
    automation = automation_token_issue(repository=repository, user=owner).plaintext
    with pytest.raises(TokenRejected) as caught:
        credentials.authenticate(automation, "alice", only=(PersonalAccessToken,))
    assert caught.value.reason == credentials.NOT_A_TOKEN


def test_a_password_is_never_accepted(owner: Any) -> None:
    with pytest.raises(TokenRejected) as caught:
        credentials.authenticate("correct horse battery", "alice")
    assert caught.value.reason == "use a personal access token (wharf_pat_...), not a password"


def test_basic_credentials_are_parsed_or_refused_as_malformed() -> None:
    assert credentials.basic_credentials(basic("alice", "s:e:cret")) == ("alice", "s:e:cret")
    assert credentials.basic_credentials("Bearer abc") is None
    assert credentials.basic_credentials("") is None
    with pytest.raises(TokenRejected) as caught:
        credentials.basic_credentials("Basic %%%")
    assert caught.value.reason == "malformed Basic credentials"


def test_a_token_is_found_in_one_query_and_a_missing_one_costs_the_same(owner: Any) -> None:
    plaintext = make_pat(owner)
    credentials.authenticate(plaintext, "alice")  # records its first use
    with CaptureQueriesContext(connection) as known:
        credentials.authenticate(plaintext, "alice")
    missing = plaintext[:10] + "0" * 12 + plaintext[22:]
    with CaptureQueriesContext(connection) as unknown, pytest.raises(TokenRejected):
        credentials.authenticate(missing, "alice")
    assert len(known.captured_queries) == 1
    assert [q["sql"].split(" WHERE ")[0] for q in unknown.captured_queries] == [
        q["sql"].split(" WHERE ")[0] for q in known.captured_queries
    ]


def test_the_rest_api_refuses_an_automation_token(client: Client, owner: Any, repository: SourceRepository) -> None:
    automation = automation_token_issue(repository=repository, user=owner).plaintext
    response = client.get("/api/user/tokens", HTTP_AUTHORIZATION=basic("alice", automation))
    assert response.status_code == 401
    assert response.json()["message"] == credentials.NOT_A_TOKEN
    bearer = client.get("/api/user/tokens", HTTP_AUTHORIZATION=f"Bearer {make_pat(owner)}")
    assert bearer.status_code == 200
    assert [t["note"] for t in bearer.json()] == ["test"]
