"""``GET /token`` and the OAuth2 password grant ``POST /token`` (Docker "Token Authentication
Specification", REGISTRY.md "Accounts, tokens and login"): what is granted is what was asked,
intersected with the caller's roles and the personal access token's scopes."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from packages_app.models import Package, Visibility
from tests.conftest import basic, make_pat
from tokens_app.registry_tokens import Grant, verify

HOST = "registry.example"


def ask(client: Client, auth: str | None, *scopes: str, **params: str) -> Any:
    query = urlencode([("service", HOST), *params.items(), *(("scope", s) for s in scopes)])
    extra: dict[str, Any] = {"HTTP_AUTHORIZATION": auth} if auth else {}
    return client.get(f"/token?{query}", HTTP_HOST=HOST, **extra)


def granted(response: Any) -> Grant:
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token"] == body["access_token"]
    return verify(body["token"], service=HOST)


def password_grant(client: Client, **form: str) -> Any:
    return client.post("/token", urlencode(form), content_type="application/x-www-form-urlencoded", HTTP_HOST=HOST)


@pytest.fixture
def app(owner: Any) -> Package:
    """acme/app: a private package administered by alice."""
    return Package.objects.create(name="acme/app", namespace="acme", created_by=owner)


@pytest.fixture
def public(owner: Any) -> Package:
    return Package.objects.create(name="acme/public", namespace="acme", created_by=owner, visibility=Visibility.PUBLIC)


def test_an_anonymous_caller_gets_pull_on_public_packages_only(client: Client, app: Package, public: Package) -> None:
    grant = granted(ask(client, None, "repository:acme/public:pull,push", "repository:acme/app:pull"))
    assert grant.username == ""
    assert grant.access == {"acme/public": frozenset({"pull"}), "acme/app": frozenset()}


def test_an_anonymous_token_says_how_long_it_lasts_and_is_not_cached(client: Client, settings: Any) -> None:
    settings.WHARF_REGISTRY_TOKEN_SECONDS = 300
    response = ask(client, None)
    body = response.json()
    assert body["expires_in"] == 300
    assert 295 <= granted(response).expires_at - time.time() <= 300
    assert response["Cache-Control"] == "no-store"


def test_an_owner_with_a_write_token_gets_pull_and_push_but_not_delete(
    client: Client, app: Package, owner: Any
) -> None:
    grant = granted(
        ask(client, basic("alice", make_pat(owner, "write:packages")), "repository:acme/app:pull,push,delete")
    )
    assert grant.username == "alice"
    assert grant.access == {"acme/app": frozenset({"pull", "push"})}
    assert grant.scopes == frozenset({"read:packages", "write:packages"})


def test_a_read_token_gets_only_pull_whatever_the_roles_allow(client: Client, app: Package, owner: Any) -> None:
    grant = granted(
        ask(client, basic("alice", make_pat(owner, "read:packages")), "repository:acme/app:pull,push,delete")
    )
    assert grant.access == {"acme/app": frozenset({"pull"})}


def test_a_delete_token_gets_delete_only_where_the_user_is_admin(
    client: Client, app: Package, public: Package, owner: Any, member: Any
) -> None:
    alice = granted(ask(client, basic("alice", make_pat(owner, "delete:packages")), "repository:acme/app:delete"))
    assert alice.access == {"acme/app": frozenset({"delete"})}
    bob = granted(ask(client, basic("bob", make_pat(member, "delete:packages")), "repository:acme/public:pull,delete"))
    assert bob.access == {"acme/public": frozenset({"pull"})}


def test_several_scope_parameters_are_granted_one_by_one(
    client: Client, app: Package, public: Package, member: Any
) -> None:
    auth = basic("bob", make_pat(member, "write:packages"))
    grant = granted(
        ask(client, auth, "repository:acme/app:pull", "repository:acme/public:pull,push", "repository:acme/new:push")
    )
    assert grant.access == {
        "acme/app": frozenset(),  # private, bob has no role on it: nothing, like a missing package
        "acme/public": frozenset({"pull"}),  # readable, not writable
        "acme/new": frozenset({"push"}),  # a new package in his organization
    }


def test_space_separated_scopes_in_one_parameter_are_all_read(client: Client, public: Package, owner: Any) -> None:
    auth = basic("alice", make_pat(owner, "write:packages"))
    grant = granted(ask(client, auth, "repository:acme/public:pull repository:alice/tool:push"))
    assert grant.access == {"acme/public": frozenset({"pull"}), "alice/tool": frozenset({"push"})}


def test_a_star_asks_for_every_action(client: Client, app: Package, owner: Any, member: Any) -> None:
    alice = granted(
        ask(client, basic("alice", make_pat(owner, "write:packages", "delete:packages")), "repository:acme/app:*")
    )
    assert alice.access == {"acme/app": frozenset({"pull", "push", "delete"})}
    Package.objects.filter(id=app.id).update(visibility=Visibility.INTERNAL)
    bob = granted(
        ask(client, basic("bob", make_pat(member, "write:packages", "delete:packages")), "repository:acme/app:*")
    )
    assert bob.access == {"acme/app": frozenset({"pull"})}


@pytest.mark.parametrize(
    "scope",
    [
        "repository:acme/app",  # no actions
        "repository::pull",  # no name
        "repository:ACME/app:pull",  # not a valid name
        "repository:acme/app::pull",  # a colon inside the name
        "registry:catalog:*",  # another resource type
        "nonsense",
        "",
    ],
)
def test_malformed_scopes_are_ignored(client: Client, app: Package, owner: Any, scope: str) -> None:
    grant = granted(ask(client, basic("alice", make_pat(owner, "write:packages")), scope, "repository:acme/app:pull"))
    assert grant.access == {"acme/app": frozenset({"pull"})}


def test_unknown_actions_are_dropped_and_known_ones_kept(client: Client, app: Package, owner: Any) -> None:
    grant = granted(ask(client, basic("alice", make_pat(owner, "write:packages")), "repository:acme/app:pull,fly,*x"))
    assert grant.access == {"acme/app": frozenset({"pull"})}


def test_docker_login_without_a_scope_gets_a_token_with_no_access(client: Client, owner: Any) -> None:
    grant = granted(
        ask(client, basic("alice", make_pat(owner)), account="alice", client_id="docker", offline_token="true")
    )
    assert grant.username == "alice"
    assert grant.access == {}


def test_the_oauth2_password_grant_takes_the_same_credentials_in_a_form(
    client: Client, app: Package, owner: Any
) -> None:
    response = password_grant(
        client,
        grant_type="password",
        username="alice",
        password=make_pat(owner, "write:packages"),
        scope="repository:acme/app:pull,push repository:acme/app:delete",
        service=HOST,
        client_id="containerd",
    )
    grant = granted(response)
    assert grant.username == "alice"
    assert grant.access == {"acme/app": frozenset({"pull", "push"})}
    assert response.json()["expires_in"] > 0


def test_the_password_grant_refuses_bad_credentials(client: Client, owner: Any) -> None:
    response = password_grant(client, grant_type="password", username="alice", password="wharf_pat_nope", service=HOST)
    assert response.status_code == 401
    error = response.json()["errors"][0]
    assert error["code"] == "UNAUTHORIZED"
    assert error["message"] == "invalid username or token"


@pytest.mark.parametrize(
    ("username", "secret", "message"),
    [
        ("alice", "correct horse battery", "use a personal access token (wharf_pat_...), not a password"),
        ("alice", "wharf_pat_0123456789abcdefnotatoken", "invalid username or token"),
        ("bob", None, "invalid username or token"),  # alice's token under another name
        ("nobody", None, "invalid username or token"),
    ],
)
def test_bad_credentials_are_refused_with_a_clear_message(
    client: Client, app: Package, owner: Any, member: Any, username: str, secret: str | None, message: str
) -> None:
    response = ask(client, basic(username, secret or make_pat(owner)), "repository:acme/app:pull")
    assert response.status_code == 401
    assert response.json()["errors"] == [{"code": "UNAUTHORIZED", "message": message, "detail": None}]
    assert "token" not in response.json()


def test_malformed_basic_credentials_are_refused_not_treated_as_anonymous(client: Client) -> None:
    response = ask(client, "Basic !!!not-base64!!!")
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == "malformed Basic credentials"


def test_a_bearer_token_cannot_be_exchanged_for_another(client: Client, app: Package, owner: Any) -> None:
    token = ask(client, basic("alice", make_pat(owner, "write:packages")), "repository:acme/app:pull").json()["token"]
    response = ask(client, f"Bearer {token}", "repository:acme/app:pull,push")
    assert response.status_code == 401
    error = response.json()["errors"][0]
    assert error["code"] == "UNAUTHORIZED"
    assert "personal access token" in error["message"]


def test_an_anonymous_bearer_token_cannot_be_exchanged_either(client: Client, public: Package) -> None:
    token = ask(client, None, "repository:acme/public:pull").json()["token"]
    response = ask(client, f"Bearer {token}", "repository:acme/public:pull")
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_an_unsupported_oauth2_grant_is_refused_not_served_anonymously(client: Any, db: None) -> None:
    form = urlencode({"grant_type": "refresh_token", "refresh_token": "x", "service": "s"})
    response = client.post("/token", data=form, content_type="application/x-www-form-urlencoded", HTTP_HOST="s")
    assert response.status_code == 400
    assert response.json() == {"error": "unsupported_grant_type"}
