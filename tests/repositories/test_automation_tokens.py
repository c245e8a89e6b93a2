"""Revoking a repository's automation tokens (issue 10): on the repository's page (its admins, after the
confirm step, with CSRF) and through ``GET``/``DELETE /api/repos/{owner}/{repo}/automation-tokens[/{id}]``
(its admins only; to everyone else the repository does not exist). A revoked token stops authenticating.
The project audits no token's issue or revocation (personal access tokens neither), so neither is
looked for in the audit log."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from packages_app.services.packages import package_for_write
from repositories.models import SourceRepository
from repositories.services import repository_create
from tests.conftest import basic, make_pat
from tokens_app.automation import NewAutomationToken, automation_token_issue
from tokens_app.models import AutomationToken
from tokens_app.services import token_create

pytestmark = pytest.mark.django_db

PAGE = "/repos/acme/api/"
API = "/api/repos/acme/api/automation-tokens"


@pytest.fixture
def repository(owner: Any, member: Any, outsider: Any) -> SourceRepository:
    return repository_create(owner="acme", name="api", user=owner)


@pytest.fixture
def new(owner: Any, repository: SourceRepository) -> NewAutomationToken:
    return automation_token_issue(repository=repository, user=owner)


def _authenticates(client: Client, plaintext: str) -> bool:
    status = client.get("/v2/", HTTP_AUTHORIZATION=basic("ci", plaintext)).status_code
    assert status in {200, 401}
    return status == 200


def _bearer(token: str) -> str:
    return f"Bearer {token}"


# --- the repository page ------------------------------------------------------------------------


def test_the_page_lists_active_tokens_and_revokes_one_after_the_confirm_step(
    client: Client, owner: Any, new: NewAutomationToken
) -> None:
    client.force_login(owner)
    page = client.get(PAGE)
    revoke = f"/repos/acme/api/tokens/{new.token.id}/revoke"
    assert page.status_code == 200
    assert f"wharf_ats_{new.token.prefix}".encode() in page.content
    assert revoke.encode() in page.content
    asked = client.post(revoke)  # no confirm=yes: the confirm step, nothing changes
    assert asked.status_code == 200
    assert b'name="confirm" value="yes"' in asked.content
    assert AutomationToken.objects.get(id=new.token.id).revoked_at is None
    assert _authenticates(client, new.plaintext)
    done = client.post(revoke, {"confirm": "yes"})
    assert done.status_code == 302
    assert done.headers["Location"] == f"{PAGE}#automation"
    assert AutomationToken.objects.get(id=new.token.id).revoked_at is not None
    assert not _authenticates(client, new.plaintext)
    assert revoke.encode() not in client.get(PAGE).content  # only active tokens are offered


def test_revoking_on_the_page_needs_the_csrf_token(owner: Any, new: NewAutomationToken) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    answer = client.post(f"/repos/acme/api/tokens/{new.token.id}/revoke", {"confirm": "yes"})
    assert answer.status_code == 403
    assert AutomationToken.objects.get(id=new.token.id).revoked_at is None


def test_only_the_repositorys_admins_revoke_on_the_page(
    client: Client, owner: Any, member: Any, outsider: Any, new: NewAutomationToken
) -> None:
    revoke = f"/repos/acme/api/tokens/{new.token.id}/revoke"
    client.force_login(member)  # sees the repository, does not administer it
    assert revoke.encode() not in client.get(PAGE).content
    assert client.post(revoke, {"confirm": "yes"}).status_code == 403
    client.force_login(outsider)  # does not see it
    assert client.post(revoke, {"confirm": "yes"}).status_code == 404
    assert client.post("/repos/acme/nothing/tokens/1/revoke", {"confirm": "yes"}).status_code == 404
    other = automation_token_issue(repository=repository_create(owner="acme", name="web", user=owner), user=owner)
    client.force_login(owner)  # another repository's token, a missing one
    assert client.post(f"/repos/acme/api/tokens/{other.token.id}/revoke", {"confirm": "yes"}).status_code == 404
    assert client.post("/repos/acme/api/tokens/999999/revoke", {"confirm": "yes"}).status_code == 404
    client.logout()
    assert client.post(revoke, {"confirm": "yes"}).status_code == 302  # to the sign-in page
    assert AutomationToken.objects.filter(revoked_at__isnull=False).count() == 0
    assert _authenticates(client, new.plaintext)
    assert _authenticates(client, other.plaintext)


# --- the REST API -------------------------------------------------------------------------------


def test_the_api_lists_a_repositorys_tokens_without_secrets(
    client: Client, owner: Any, new: NewAutomationToken
) -> None:
    answer = client.get(API, HTTP_AUTHORIZATION=_bearer(make_pat(owner, "write:packages")))
    assert answer.status_code == 200
    (row,) = answer.json()
    assert row["id"] == new.token.id
    assert row["prefix"] == new.token.prefix
    assert row["active"] is True
    assert row["revoked_at"] is None
    assert row["created_by"] == "alice"
    assert new.plaintext not in answer.content.decode()
    assert "digest" not in row


def test_the_api_revokes_a_token_which_stops_authenticating(
    client: Client, owner: Any, new: NewAutomationToken
) -> None:
    pat = _bearer(make_pat(owner, "write:packages"))
    assert _authenticates(client, new.plaintext)
    assert (
        client.get("/token?scope=repository:acme/x:pull", HTTP_AUTHORIZATION=basic("ci", new.plaintext)).status_code
        == 200
    )
    answer = client.delete(f"{API}/{new.token.id}", HTTP_AUTHORIZATION=pat)
    assert answer.status_code == 204
    assert not _authenticates(client, new.plaintext)
    assert (
        client.get("/token?scope=repository:acme/x:pull", HTTP_AUTHORIZATION=basic("ci", new.plaintext)).status_code
        == 401
    )
    (row,) = client.get(API, HTTP_AUTHORIZATION=pat).json()
    assert row["active"] is False
    assert row["revoked_at"] is not None
    assert (
        client.delete(f"{API}/{new.token.id}", HTTP_AUTHORIZATION=pat).status_code == 204
    )  # already revoked: the same


def test_to_anyone_but_its_admins_the_repository_does_not_exist(
    client: Client, owner: Any, member: Any, outsider: Any, new: NewAutomationToken
) -> None:
    missing = client.get(
        "/api/repos/acme/nothing/automation-tokens", HTTP_AUTHORIZATION=_bearer(make_pat(owner, "write:packages"))
    )
    assert missing.status_code == 404
    package_for_write(name="acme/app", user=owner)
    limited = token_create(
        user=owner, note="one package", scopes=["write:packages"], expires_at=None, packages=["acme/app"]
    )
    callers = {
        "member": make_pat(member, "write:packages"),  # sees the repository's page, is not its admin
        "outsider": make_pat(outsider, "write:packages"),
        "limited to a package": limited.plaintext,
    }
    for who, pat in callers.items():
        for answer in (
            client.get(API, HTTP_AUTHORIZATION=_bearer(pat)),
            client.delete(f"{API}/{new.token.id}", HTTP_AUTHORIZATION=_bearer(pat)),
        ):
            assert (who, answer.status_code, answer.json()) == (who, 404, missing.json())
    assert _authenticates(client, new.plaintext)


def test_the_api_needs_write_packages_and_a_token_of_this_repository(
    client: Client, owner: Any, new: NewAutomationToken
) -> None:
    read_only = _bearer(make_pat(owner, "read:packages"))
    assert client.get(API, HTTP_AUTHORIZATION=read_only).status_code == 403
    assert client.delete(f"{API}/{new.token.id}", HTTP_AUTHORIZATION=read_only).status_code == 403
    assert client.get(API).status_code == 401
    pat = _bearer(make_pat(owner, "write:packages"))
    other = automation_token_issue(repository=repository_create(owner="acme", name="web", user=owner), user=owner)
    assert client.delete(f"{API}/{other.token.id}", HTTP_AUTHORIZATION=pat).status_code == 404
    assert client.delete(f"{API}/999999", HTTP_AUTHORIZATION=pat).status_code == 404
    organization_token = token_create(
        user=owner, note="acme", scopes=["write:packages"], expires_at=None, organization="acme"
    )
    assert client.get(API, HTTP_AUTHORIZATION=_bearer(organization_token.plaintext)).status_code == 200
    assert _authenticates(client, other.plaintext)
    assert _authenticates(client, new.plaintext)
