"""Registry bearer tokens remembered per process (``v2api.bearer_cache``), and what revocation means
with them: alice owns acme/app (private), eve is an outsider given a read grant."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from packages_app.access import Actor
from packages_app.models import Manifest, Package, PackagePermission, Role
from packages_app.services.packages import package_delete
from tests.conftest import basic, make_pat
from tests.oci import make_image, sha256
from tests.v2api.test_auth import HOST, bearer, get_manifest, push_image


@pytest.fixture(autouse=True)
def counts_later(settings: Any) -> None:
    settings.WHARF_PULL_COUNT_FLUSH_SECONDS = 3600  # no pull-count write inside the measured requests


@pytest.fixture
def app(client: Client, owner: Any) -> Package:
    """acme/app, pushed by alice: private."""
    assert push_image(client, "acme/app", basic("alice", make_pat(owner, "write:packages"))).status_code == 201
    return Package.objects.get(name="acme/app")


@pytest.fixture
def eve_token(client: Client, app: Package, outsider: Any) -> str:
    PackagePermission.objects.create(package=app, user=outsider, role=Role.READ)
    return bearer(client, basic("eve", make_pat(outsider, "read:packages")), "repository:acme/app:pull")


class Clock:
    """Moves the cache's clocks forward (both: the monotonic one and the token's wall clock)."""

    def __init__(self, monkeypatch: Any) -> None:

        self.offset = 0.0
        monotonic, wall = time.monotonic, time.time
        monkeypatch.setattr(time, "monotonic", lambda: monotonic() + self.offset)
        monkeypatch.setattr(time, "time", lambda: wall() + self.offset)


def test_a_token_is_verified_once_then_a_pull_is_one_query(client: Client, eve_token: str) -> None:
    with CaptureQueriesContext(connection) as first:
        assert get_manifest(client, eve_token).status_code == 200
    with CaptureQueriesContext(connection) as second:
        assert get_manifest(client, eve_token).status_code == 200
    assert len(first.captured_queries) >= 4  # the user, the package, the grants, the manifest
    assert [q["sql"].split('"')[1] for q in second.captured_queries] == ["packages_app_manifest"]


def test_a_removed_grant_reaches_an_issued_token_within_the_cache_lifetime(
    client: Client, eve_token: str, settings: Any, monkeypatch: Any
) -> None:
    settings.WHARF_REGISTRY_AUTH_CACHE_SECONDS = 30
    clock = Clock(monkeypatch)
    assert get_manifest(client, eve_token).status_code == 200
    PackagePermission.objects.all().delete()
    clock.offset = 29
    assert get_manifest(client, eve_token).status_code == 200  # remembered: the documented window
    clock.offset = 31
    response = get_manifest(client, eve_token)
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "NAME_UNKNOWN"


def test_with_the_cache_off_a_removed_grant_is_refused_at_once(client: Client, eve_token: str, settings: Any) -> None:
    settings.WHARF_REGISTRY_AUTH_CACHE_SECONDS = 0
    assert get_manifest(client, eve_token).status_code == 200
    PackagePermission.objects.all().delete()
    assert get_manifest(client, eve_token).status_code == 404


def test_a_deleted_version_is_gone_at_once_for_a_remembered_token(client: Client, eve_token: str) -> None:
    assert get_manifest(client, eve_token).status_code == 200
    Manifest.objects.update(deleted_at="2026-01-01T00:00:00Z")
    response = get_manifest(client, eve_token)
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"


def test_a_deleted_package_is_gone_at_once_for_a_remembered_token(client: Client, eve_token: str) -> None:
    assert get_manifest(client, eve_token).status_code == 200
    Package.all_objects.update(deleted_at="2026-01-01T00:00:00Z")
    assert get_manifest(client, eve_token).json()["errors"][0]["code"] == "NAME_UNKNOWN"


def test_a_remembered_token_stops_working_when_it_expires(
    client: Client,
    app: Package,
    owner: Any,
    settings: Any,
    monkeypatch: Any,
) -> None:
    settings.WHARF_REGISTRY_TOKEN_SECONDS = 20
    settings.WHARF_REGISTRY_AUTH_CACHE_SECONDS = 3600
    token = bearer(client, basic("alice", make_pat(owner, "read:packages")), "repository:acme/app:pull")
    clock = Clock(monkeypatch)
    assert get_manifest(client, token).status_code == 200
    clock.offset = 21
    monkeypatch.setattr("tokens_app.registry_tokens.time.time", time.time)
    response = get_manifest(client, token)
    assert response.status_code == 401
    assert "expired" in response.json()["errors"][0]["message"]


def test_a_name_that_does_not_exist_yet_is_decided_afresh(client: Client, owner: Any) -> None:
    token = bearer(client, basic("alice", make_pat(owner, "read:packages")), "repository:acme/later:pull")
    runs = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert get_manifest(client, token, "acme/later").json()["errors"][0]["code"] == "NAME_UNKNOWN"
        runs.append(len(queries.captured_queries))
    assert runs[1] == runs[0] - 1  # only the user is remembered; may-create is asked again


def test_a_forged_token_is_refused_and_never_remembered(client: Client, eve_token: str) -> None:
    forged = eve_token[:-4] + ("AAAA" if not eve_token.endswith("AAAA") else "BBBB")
    for _ in range(2):
        response = get_manifest(client, forged)
        assert response.status_code == 401
        assert "signature" in response.json()["errors"][0]["message"]
    assert get_manifest(client, eve_token).status_code == 200


def test_a_package_deleted_and_created_again_is_decided_afresh(
    client: Client, app: Package, eve_token: str, owner: Any, settings: Any
) -> None:
    """eve's remembered read grant was on the old acme/app: the new package of that name (created within
    the cache lifetime, without a grant to eve) is not hers to read, by any request of that token."""
    settings.WHARF_REGISTRY_AUTH_CACHE_SECONDS = 3600
    layer = sha256(make_image(seed="acme/app").layers[0])
    paths = ["/v2/acme/app/manifests/v1", f"/v2/acme/app/blobs/{layer}", "/v2/acme/app/tags/list"]
    for path in paths:  # remembered: the decision and the token
        assert client.get(path, HTTP_HOST=HOST, HTTP_AUTHORIZATION=eve_token).status_code == 200
    package_delete(package=app, actor=Actor(user=owner))
    assert push_image(client, "acme/app", basic("alice", make_pat(owner, "write:packages"))).status_code == 201
    assert Package.objects.get(name="acme/app").id != app.id
    for path in paths:
        response = client.get(path, HTTP_HOST=HOST, HTTP_AUTHORIZATION=eve_token)
        assert response.status_code == 404, path
        assert response.json()["errors"][0]["code"] == "NAME_UNKNOWN"
    for path in paths[:2]:
        assert client.head(path, HTTP_HOST=HOST, HTTP_AUTHORIZATION=eve_token).status_code == 404, path
