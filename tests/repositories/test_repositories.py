"""Source repositories: creating them, collaborators, automation tokens — with the three people."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone

from packages_app.models import Package
from packages_app.services.packages import package_for_write
from repositories.models import SourceRepository
from repositories.services import repository_create
from tests.conftest import basic
from tests.oci import make_image
from tokens_app.automation import automation_token_issue
from tokens_app.models import AutomationToken

pytestmark = pytest.mark.django_db


def test_only_namespace_owners_create_repositories(owner: Any, member: Any, outsider: Any) -> None:
    assert repository_create(owner="acme", name="api", user=owner).full_name == "acme/api"
    for person in (member, outsider):
        with pytest.raises(PermissionDenied):
            repository_create(owner="acme", name="web", user=person)
    assert repository_create(owner="eve", name="mine", user=outsider).owner == "eve"


def test_the_repository_pages_create_and_manage_collaborators(
    owner: Any, member: Any, outsider: Any, client: Client
) -> None:
    client.force_login(owner)
    assert client.post("/repos/", {"owner": "acme", "name": "api"}).status_code == 302
    assert client.post("/repos/acme/api/collaborators", {"username": "eve", "role": "write"}).status_code == 302
    assert SourceRepository.objects.get(name="api").collaborators.get().user == outsider
    client.force_login(member)  # a member sees it, cannot change it
    assert client.get("/repos/acme/api/").status_code == 200
    client.post("/repos/acme/api/collaborators", {"username": "bob", "role": "admin"})
    assert SourceRepository.objects.get(name="api").collaborators.count() == 1
    client.force_login(outsider)  # a collaborator sees it
    assert client.get("/repos/acme/api/").status_code == 200
    client.logout()
    other = type(owner).objects.create_user("mallory", "m@example.com", "x")
    client.force_login(other)
    assert client.get("/repos/acme/api/").status_code == 404


def test_only_repository_admins_issue_automation_tokens(owner: Any, member: Any, client: Client) -> None:
    repository = repository_create(owner="acme", name="api", user=owner)
    with pytest.raises(PermissionDenied):
        automation_token_issue(repository=repository, user=member)
    client.force_login(member)
    assert client.post("/repos/acme/api/tokens").status_code == 403
    client.force_login(owner)
    page = client.post("/repos/acme/api/tokens")
    assert page.status_code == 200
    assert b"wharf_ats_" in page.content
    assert AutomationToken.objects.get().expires_at > timezone.now()


def _push(client: Client, name: str, auth: str) -> int:
    image = make_image(seed=name)
    for digest, data in image.blobs.items():
        response = client.post(
            f"/v2/{name}/blobs/uploads/?digest={digest}",
            data=data,
            content_type="application/octet-stream",
            HTTP_AUTHORIZATION=auth,
        )
        if response.status_code != 201:
            return int(response.status_code)
    put = client.put(
        f"/v2/{name}/manifests/v1", data=image.manifest, content_type=image.media_type, HTTP_AUTHORIZATION=auth
    )
    return int(put.status_code)


def test_an_automation_token_creates_a_linked_package_in_its_owners_namespace(
    owner: Any, outsider: Any, client: Client
) -> None:
    repository = repository_create(owner="acme", name="api", user=owner)
    auth = basic("anyone", automation_token_issue(repository=repository, user=owner).plaintext)
    assert _push(client, "acme/api-server", auth) == 201
    assert Package.objects.get(name="acme/api-server").repository == repository
    assert _push(client, "eve/stolen", auth) == 403  # not its owner's namespace
    package_for_write(name="acme/unlinked", user=owner)
    assert _push(client, "acme/unlinked", auth) == 403  # an existing package not linked to it
    pulled = client.get("/v2/acme/api-server/manifests/v1", HTTP_ACCEPT="*/*", HTTP_AUTHORIZATION=auth)
    assert pulled.status_code == 200


def test_an_automation_token_works_through_the_token_endpoint_and_cannot_delete(owner: Any, client: Client) -> None:
    repository = repository_create(owner="acme", name="api", user=owner)
    secret = automation_token_issue(repository=repository, user=owner).plaintext
    answer = client.get(
        "/token?service=testserver&scope=repository:acme/api-x:push,pull,delete",
        HTTP_AUTHORIZATION=basic("acme", secret),
    )
    assert answer.status_code == 200
    bearer = f"Bearer {answer.json()['token']}"
    assert _push(client, "acme/api-x", bearer) == 201
    assert Package.objects.get(name="acme/api-x").repository == repository
    digest = client.get("/v2/acme/api-x/manifests/v1", HTTP_ACCEPT="*/*", HTTP_AUTHORIZATION=bearer).headers[
        "Docker-Content-Digest"
    ]
    assert client.delete(f"/v2/acme/api-x/manifests/{digest}", HTTP_AUTHORIZATION=bearer).status_code in {401, 403}


def test_an_expired_or_revoked_automation_token_is_refused(owner: Any, client: Client) -> None:
    repository = repository_create(owner="acme", name="api", user=owner)
    new = automation_token_issue(repository=repository, user=owner)
    AutomationToken.objects.filter(id=new.token.id).update(expires_at=timezone.now())
    assert client.get("/v2/", HTTP_AUTHORIZATION=basic("acme", new.plaintext)).status_code == 401
