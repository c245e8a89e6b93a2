"""Fine-grained tokens on every registry endpoint, with Basic auth and with a bearer token from ``/token``.

alice administers ``acme/app``. Each of her tokens has every scope; they differ in what they reach:

* ``all``: no limit; ``app``: only ``acme/app``; ``acme``: only the organization ``acme``;
* ``other``: only ``acme/other``; ``beta``: only the organization ``beta`` (which she owns too).

Within its reach a token does what alice's roles allow. Outside it, ``acme/app`` (private or internal)
answers exactly as ``nobody/ghost`` — a missing package in a namespace nobody may create in — answers
alice's unlimited token: same status, body and headers. A public package outside the reach is still
pulled (as GitHub's fine-grained tokens read public repositories) but never written.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client, override_settings

from accounts.services import organization_create
from packages_app import storage
from packages_app.access import Action
from packages_app.models import Package, Visibility
from tests.conftest import basic
from tests.v2api.test_access_matrix import ENDPOINTS, HOST, LAYER, NAME, Endpoint, _comparable, _people, _push_app
from tokens_app import registry_tokens
from tokens_app.services import token_create

GHOST = "acme/ghost"  # never pushed; outside the "other" and "beta" tokens' reach
ALL_SCOPES = ["read:packages", "write:packages", "delete:packages"]
LIMITS: dict[str, dict[str, Any]] = {
    "all": {},
    "app": {"packages": [NAME]},
    "acme": {"organization": "acme"},
    "other": {"packages": ["acme/other"]},
    "beta": {"organization": "beta"},
}
INSIDE, OUTSIDE = ["all", "app", "acme"], ["other", "beta"]
ROUTES = [e for e in ENDPOINTS if not e.mount]  # a mount writes into the caller's namespace: tested below


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[dict[str, Any]]:
    """alice, bob, eve, ``acme/app`` (private), the organization ``beta`` and alice's tokens, committed to
    an outer transaction each test's savepoint rolls back to."""
    blobs = tmp_path_factory.mktemp("reach-blobs")
    storages = {
        **settings.STORAGES,
        "blobs": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(blobs)}},
    }
    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with override_settings(STORAGES=storages, PASSWORD_HASHERS=hashers), django_db_blocker.unblock():
        storage.blob_store.cache_clear()
        outer = transaction.atomic()
        outer.__enter__()
        try:
            alice = _people()["alice"]
            organization_create(name="beta", owner=alice)
            tokens = {
                label: token_create(user=alice, note=label, scopes=ALL_SCOPES, expires_at=None, **limit).plaintext
                for label, limit in LIMITS.items()
            }
            _push_app(Client(), basic("alice", tokens["all"]))
            yield {"blobs": blobs, "tokens": tokens}
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            storage.blob_store.cache_clear()


@pytest.fixture
def blob_dir(world: dict[str, Any]) -> Any:
    return world["blobs"]


def _credentials(client: Client, token: str, name: str, mode: str) -> dict[str, Any]:
    """Headers for ``name``: the token itself (Basic), or a registry token ``/token`` issued for it."""
    extra: dict[str, Any] = {"HTTP_HOST": HOST, "HTTP_AUTHORIZATION": basic("alice", token)}
    if mode == "basic":
        return extra
    answer = client.get(f"/token?service={HOST}&scope=repository:{name}:pull,push,delete", **extra)
    assert answer.status_code == 200, answer.content
    return {"HTTP_HOST": HOST, "HTTP_AUTHORIZATION": f"Bearer {answer.json()['token']}"}


def _named(response: Any, name: str) -> tuple[Any, ...]:
    """``_comparable`` with the package's name in the body made a placeholder."""
    status, content, headers, challenge = _comparable(response, name)
    return status, content.replace(name.encode(), b"NAME"), headers, challenge


def _granted(client: Client, token: str, name: str) -> list[str]:
    extra: dict[str, Any] = {"HTTP_HOST": HOST, "HTTP_AUTHORIZATION": basic("alice", token)}
    answer = client.get(f"/token?service={HOST}&scope=repository:{name}:pull,push,delete", **extra)

    return sorted(registry_tokens.verify(answer.json()["token"], service=HOST).access.get(name, frozenset()))


@pytest.mark.parametrize("mode", ["basic", "bearer"])
@pytest.mark.parametrize("limit", INSIDE)
@pytest.mark.parametrize("endpoint", ROUTES, ids=str)
def test_a_token_does_what_the_roles_allow_within_its_reach(
    db: None, client: Client, world: dict[str, Any], endpoint: Endpoint, limit: str, mode: str
) -> None:
    extra = _credentials(client, world["tokens"][limit], NAME, mode)

    response = endpoint.send(client, NAME, "alice", extra)

    assert response.status_code == endpoint.ok, response.content


@pytest.mark.parametrize("visibility", [Visibility.PRIVATE, Visibility.INTERNAL, Visibility.PUBLIC])
@pytest.mark.parametrize("mode", ["basic", "bearer"])
@pytest.mark.parametrize("limit", OUTSIDE)
@pytest.mark.parametrize("endpoint", ROUTES, ids=str)
def test_outside_its_reach_a_package_answers_as_a_missing_one(
    db: None, client: Client, world: dict[str, Any], endpoint: Endpoint, limit: str, mode: str, visibility: str
) -> None:
    Package.objects.filter(name=NAME).update(visibility=visibility)
    extra = _credentials(client, world["tokens"][limit], NAME, mode)

    response = endpoint.send(client, NAME, "alice", extra)

    if visibility == Visibility.PUBLIC and endpoint.action is Action.PULL:
        assert response.status_code == endpoint.ok, response.content
        return
    # The same token on a name that does not exist (outside its reach too): the refusal names the
    # package it was asked about (a push says why), nothing else may differ.
    missing = endpoint.send(client, GHOST, "alice", _credentials(client, world["tokens"][limit], GHOST, mode))
    unreadable = 200 if endpoint.label == "referrers" else 404  # referrers: an empty index, never 404
    assert response.status_code == (403 if endpoint.action is Action.PUSH else unreadable), response.content
    assert _named(response, NAME) == _named(missing, GHOST)
    assert Package.objects.get(name=NAME).manifests.filter(deleted_at__isnull=True).count() == 1


def test_token_grants_nothing_outside_the_reach_and_everything_inside(
    db: None, client: Client, world: dict[str, Any]
) -> None:
    tokens = world["tokens"]
    assert _granted(client, tokens["app"], NAME) == ["delete", "pull", "push"]
    assert _granted(client, tokens["acme"], NAME) == ["delete", "pull", "push"]
    assert _granted(client, tokens["other"], NAME) == []
    assert _granted(client, tokens["beta"], NAME) == []
    assert _granted(client, tokens["beta"], "beta/new") == ["pull", "push"]  # may create within its organization


def test_a_limited_token_mounts_nothing_from_outside_its_reach(db: None, client: Client, world: dict[str, Any]) -> None:

    extra: dict[str, Any] = {"HTTP_HOST": HOST, "HTTP_AUTHORIZATION": basic("alice", world["tokens"]["beta"])}
    response = client.post(f"/v2/beta/copy/blobs/uploads/?mount={LAYER}&from={NAME}", **extra)
    assert response.status_code == 202  # an ordinary upload session: the source was not readable
    assert "Docker-Content-Digest" not in response.headers

    extra["HTTP_AUTHORIZATION"] = basic("alice", world["tokens"]["all"])
    assert client.post(f"/v2/beta/copy/blobs/uploads/?mount={LAYER}&from={NAME}", **extra).status_code == 201
