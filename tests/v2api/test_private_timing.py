"""To someone who may not read it, a private package costs the registry the same work as a name that
never existed (issue 9, point 14): the same SQL statements in the same order, name aside. Counting the
queries rather than timing them keeps the test exact on a busy machine; the queries were the difference
(the role lookups ran twice for a private package and not at all for a missing one)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from packages_app.models import Package, PackagePermission, Role, Visibility
from repositories.models import SourceRepository
from tests.conftest import basic, make_pat
from tests.oci import sha256
from tests.v2api.test_auth import HOST, bearer, push_image

PRIVATE, MISSING = "acme/app", "acme/nothing"


@pytest.fixture
def app(client: Client, owner: Any, member: Any) -> Package:
    """acme/app, private, with a grant to bob (so grant lookups have rows to find for someone)."""
    assert push_image(client, PRIVATE, basic("alice", make_pat(owner, "write:packages"))).status_code == 201
    package = Package.objects.get(name=PRIVATE)
    PackagePermission.objects.create(package=package, user=member, role=Role.READ)
    return package


def _statements(client: Client, method: str, path: str, extra: dict[str, Any], name: str) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = getattr(client, method)(path.format(name=name), HTTP_HOST=HOST, **extra)
    sql = [re.sub(r"\b\d+\b", "N", q["sql"].replace(name, "NAME")) for q in captured.captured_queries]
    return response, sql


REQUESTS = [
    ("get", "/v2/{name}/manifests/v1"),
    ("head", "/v2/{name}/manifests/v1"),
    ("get", f"/v2/{{name}}/blobs/{sha256(b'x')}"),
    ("get", "/v2/{name}/tags/list"),
    ("get", f"/v2/{{name}}/referrers/{sha256(b'x')}"),
    ("post", "/v2/{name}/blobs/uploads/"),
    ("delete", "/v2/{name}/manifests/v1"),
]


def _same_work(client: Client, method: str, path: str, extra: dict[str, Any]) -> None:
    client.get("/v2/", HTTP_HOST=HOST, **extra)  # warm per-process caches (signing key) first
    private, private_sql = _statements(client, method, path, extra, PRIVATE)
    missing, missing_sql = _statements(client, method, path, extra, MISSING)
    assert private.status_code == missing.status_code
    assert private.content == missing.content.replace(MISSING.encode(), PRIVATE.encode())
    assert private_sql == missing_sql
    assert private_sql, "the request ran no query at all: nothing was compared"


@pytest.mark.parametrize(("method", "path"), REQUESTS)
def test_an_outsiders_token_does_the_same_queries_on_a_private_and_a_missing_package(
    client: Client, app: Package, outsider: Any, method: str, path: str
) -> None:
    _same_work(client, method, path, {"HTTP_AUTHORIZATION": basic("eve", make_pat(outsider, "write:packages"))})


@pytest.mark.parametrize(("method", "path"), REQUESTS)
def test_an_outsiders_registry_token_does_the_same_queries_on_both(
    client: Client, app: Package, outsider: Any, method: str, path: str
) -> None:
    eve = basic("eve", make_pat(outsider, "write:packages", "delete:packages"))
    token = bearer(client, eve, f"repository:{PRIVATE}:pull,push,delete", f"repository:{MISSING}:pull,push,delete")
    _same_work(client, method, path, {"HTTP_AUTHORIZATION": token})


@pytest.mark.parametrize(("method", "path"), REQUESTS)
def test_anonymous_callers_cause_the_same_queries_on_both(client: Client, app: Package, method: str, path: str) -> None:
    _same_work(client, method, path, {})


def test_an_internal_package_costs_an_outsider_what_a_missing_one_does(
    client: Client, app: Package, outsider: Any
) -> None:
    Package.objects.filter(id=app.id).update(visibility=Visibility.INTERNAL)
    _same_work(client, "get", "/v2/{name}/manifests/v1", {"HTTP_AUTHORIZATION": basic("eve", make_pat(outsider))})


def test_a_package_that_inherits_its_repositorys_access_costs_the_same_too(
    client: Client, app: Package, owner: Any, outsider: Any
) -> None:
    repository = SourceRepository.objects.create(owner="acme", name="app")
    Package.objects.filter(id=app.id).update(repository=repository, inherit_access=True)
    _same_work(client, "get", "/v2/{name}/manifests/v1", {"HTTP_AUTHORIZATION": basic("eve", make_pat(outsider))})


def test_the_token_endpoint_does_the_same_queries_for_both(client: Client, app: Package, outsider: Any) -> None:
    eve: dict[str, Any] = {"HTTP_AUTHORIZATION": basic("eve", make_pat(outsider, "write:packages", "delete:packages"))}
    client.get("/v2/", HTTP_HOST=HOST, **eve)
    private, private_sql = _statements(client, "get", "/token?scope=repository:{name}:pull,push,delete", eve, PRIVATE)
    missing, missing_sql = _statements(client, "get", "/token?scope=repository:{name}:pull,push,delete", eve, MISSING)
    assert private.status_code == missing.status_code == 200
    assert private_sql == missing_sql
