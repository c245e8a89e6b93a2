"""An automation token publishes where packages are written, not in the registry's auth gate (issue 10):
its first push creates the package linked to its repository (audited), and requests that only read —
an upload session's status — write nothing, whatever name they carry."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from packages_app.models import AuditEvent, Package
from repositories.models import SourceRepository
from repositories.services import repository_create
from tests.conftest import basic
from tokens_app.automation import automation_token_issue

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE")


def _writes(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(WRITES)]


@pytest.fixture
def repository(owner: Any) -> SourceRepository:
    return repository_create(owner="acme", name="api", user=owner)


@pytest.fixture
def automation(owner: Any, repository: SourceRepository) -> str:
    return basic("ci", automation_token_issue(repository=repository, user=owner).plaintext)


def _bearer(client: Client, automation: str, name: str) -> str:
    answer = client.get(f"/token?service=testserver&scope=repository:{name}:push,pull", HTTP_AUTHORIZATION=automation)
    assert answer.status_code == 200
    return f"Bearer {answer.json()['token']}"


def test_the_first_push_creates_the_package_linked_to_the_tokens_repository_and_audits_it(
    client: Client, repository: SourceRepository, automation: str
) -> None:
    started = client.post("/v2/acme/api-server/blobs/uploads/", HTTP_AUTHORIZATION=automation)
    assert started.status_code == 202
    package = Package.objects.get(name="acme/api-server")
    assert package.repository == repository
    link = AuditEvent.objects.get(package=package, action=AuditEvent.Action.LINK)
    assert (link.actor, link.detail) == ("automation token of acme/api", "linked to acme/api")


@pytest.mark.parametrize("credential", ["basic", "bearer"])
def test_an_upload_status_get_by_an_automation_token_writes_nothing(
    client: Client, repository: SourceRepository, automation: str, credential: str
) -> None:
    auth = automation if credential == "basic" else _bearer(client, automation, "acme/api-server")
    started = client.post("/v2/acme/api-server/blobs/uploads/", HTTP_AUTHORIZATION=auth)
    assert started.status_code == 202
    # The POST marked the token used (at most once a minute, tokens_app.base), so the GET may not.
    with CaptureQueriesContext(connection) as queries:
        status = client.get(started.headers["Location"], HTTP_AUTHORIZATION=auth)
    assert status.status_code == 204
    assert _writes(queries) == []


@pytest.mark.parametrize("credential", ["basic", "bearer"])
def test_a_status_get_under_a_new_name_creates_no_package(
    client: Client, repository: SourceRepository, automation: str, credential: str
) -> None:
    auth = automation if credential == "basic" else _bearer(client, automation, "acme/never-pushed")
    client.get("/v2/", HTTP_AUTHORIZATION=auth)  # the token's one use a minute is spent before
    with CaptureQueriesContext(connection) as queries:
        status = client.get(f"/v2/acme/never-pushed/blobs/uploads/{uuid.uuid4()}", HTTP_AUTHORIZATION=auth)
    assert status.status_code == 404
    assert status.json()["errors"][0]["code"] == "BLOB_UPLOAD_UNKNOWN"
    assert _writes(queries) == []
    assert not Package.all_objects.filter(name="acme/never-pushed").exists()
