"""Every registry endpoint, by person, personal-access-token scope and package visibility.

The expected outcome comes from ``expected`` below, a restatement of the rules in
``packages_app.access`` (REGISTRY.md "Packages, visibility and access"), not from a recorded run:

* alice owns ``acme`` and so administers ``acme/app``; bob is a plain member (reads it when it is
  internal or public); eve is an outsider (reads it when public); anonymous callers read public ones;
* pull needs read and ``read:packages``, push needs write and ``write:packages``, delete needs admin
  and ``delete:packages``; every token has ``read:packages`` (write and delete imply it);
* a token without the action's scope is refused (403 DENIED) whatever the package;
* to anyone who may not read it, ``acme/app`` answers exactly as ``acme/ghost``, a name that never existed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client, override_settings

from accounts.models import Membership
from accounts.services import organization_create
from packages_app import storage
from packages_app.access import Action
from packages_app.models import Package, Role, Visibility
from tests.conftest import basic, make_pat
from tests.oci import make_image, sha256

HOST = "registry.example"
NAME, GHOST = "acme/app", "acme/ghost"
IMAGE = make_image(seed="access-matrix")
CONFIG = sha256(IMAGE.config)
LAYER = sha256(IMAGE.layers[0])
LOOSE = b"a blob that no manifest uses"
CHUNK = b"a chunk of an upload"
OCTETS = "application/octet-stream"
NOT_AN_UPLOAD = str(uuid.UUID(int=0, version=4))

READ, WRITE, DELETE = "read:packages", "write:packages", "delete:packages"
NEEDS = {Action.PULL: (Role.READ, READ), Action.PUSH: (Role.WRITE, WRITE), Action.DELETE: (Role.ADMIN, DELETE)}

Send = Callable[[Client, str, str | None, dict[str, Any]], Any]


@dataclass(frozen=True)
class Endpoint:
    label: str
    action: Action
    ok: int
    send: Send
    mount: bool = False  # pushes into the caller's own namespace, reading ``name`` as the source

    def __str__(self) -> str:
        return self.label


def _session(client: Client, name: str, extra: dict[str, Any]) -> str:
    """An upload session the caller opened on ``name``, or a made-up one when they may not open it."""
    response = client.post(f"/v2/{name}/blobs/uploads/", **extra)
    return str(response["Location"]) if response.status_code == 202 else f"/v2/{name}/blobs/uploads/{NOT_AN_UPLOAD}"


def _mount(client: Client, name: str, person: str | None, extra: dict[str, Any]) -> Any:
    target = f"{person or 'acme'}/copy"
    return client.post(f"/v2/{target}/blobs/uploads/?mount={LAYER}&from={name}", **extra)


def _endpoint(label: str, action: Action, ok: int, send: Callable[[Client, str, dict[str, Any]], Any]) -> Endpoint:
    return Endpoint(label, action, ok, lambda client, name, person, extra: send(client, name, extra))


PULL, PUSH, DEL = Action.PULL, Action.PUSH, Action.DELETE
ENDPOINTS = [
    _endpoint("get-manifest-by-tag", PULL, 200, lambda c, n, e: c.get(f"/v2/{n}/manifests/v1", **e)),
    _endpoint("head-manifest-by-tag", PULL, 200, lambda c, n, e: c.head(f"/v2/{n}/manifests/v1", **e)),
    _endpoint("get-manifest-by-digest", PULL, 200, lambda c, n, e: c.get(f"/v2/{n}/manifests/{IMAGE.digest}", **e)),
    _endpoint("head-manifest-by-digest", PULL, 200, lambda c, n, e: c.head(f"/v2/{n}/manifests/{IMAGE.digest}", **e)),
    _endpoint("get-blob", PULL, 200, lambda c, n, e: c.get(f"/v2/{n}/blobs/{CONFIG}", **e)),
    _endpoint("head-blob", PULL, 200, lambda c, n, e: c.head(f"/v2/{n}/blobs/{CONFIG}", **e)),
    _endpoint("tags-list", PULL, 200, lambda c, n, e: c.get(f"/v2/{n}/tags/list", **e)),
    _endpoint("referrers", PULL, 200, lambda c, n, e: c.get(f"/v2/{n}/referrers/{IMAGE.digest}", **e)),
    _endpoint("post-upload", PUSH, 202, lambda c, n, e: c.post(f"/v2/{n}/blobs/uploads/", **e)),
    _endpoint("patch-upload", PUSH, 202, lambda c, n, e: c.patch(_session(c, n, e), CHUNK, content_type=OCTETS, **e)),
    _endpoint(
        "put-upload",
        PUSH,
        201,
        lambda c, n, e: c.put(f"{_session(c, n, e)}?digest={sha256(CHUNK)}", CHUNK, content_type=OCTETS, **e),
    ),
    _endpoint("get-upload", PUSH, 204, lambda c, n, e: c.get(_session(c, n, e), **e)),
    _endpoint("delete-upload", PUSH, 204, lambda c, n, e: c.delete(_session(c, n, e), **e)),
    _endpoint(
        "put-manifest",
        PUSH,
        201,
        lambda c, n, e: c.put(f"/v2/{n}/manifests/v2", IMAGE.manifest, content_type=IMAGE.media_type, **e),
    ),
    _endpoint(
        "delete-manifest-by-digest", DEL, 202, lambda c, n, e: c.delete(f"/v2/{n}/manifests/{IMAGE.digest}", **e)
    ),
    _endpoint("delete-manifest-by-tag", DEL, 202, lambda c, n, e: c.delete(f"/v2/{n}/manifests/v1", **e)),
    _endpoint("delete-blob", DEL, 202, lambda c, n, e: c.delete(f"/v2/{n}/blobs/{sha256(LOOSE)}", **e)),
    Endpoint("cross-repo-mount", PUSH, 201, _mount, mount=True),
]
CALLERS = [(person, scope) for person in ("alice", "bob", "eve") for scope in (READ, WRITE, DELETE)] + [(None, None)]
VISIBILITIES = [Visibility.PRIVATE, Visibility.INTERNAL, Visibility.PUBLIC]


# --- the rules ---------------------------------------------------------------------------------


def role_on_app(person: str | None, visibility: str) -> Role | None:
    """What each person holds on ``acme/app`` (pushed by alice, no explicit grants)."""
    if person == "alice":
        return Role.ADMIN  # owner of the namespace's organization, and the publisher
    if visibility == Visibility.PUBLIC or (visibility == Visibility.INTERNAL and person == "bob"):
        return Role.READ
    return None


def token_scopes(scope: str | None) -> set[str]:
    return {READ, scope} if scope else set()


def expected(endpoint: Endpoint, person: str | None, scope: str | None, visibility: str) -> tuple[int, str | None]:
    """(status, OCI error code or None) for ``endpoint`` on ``acme/app``."""
    if endpoint.mount:
        return expected_mount(person, scope, visibility)
    role = role_on_app(person, visibility)
    needed_role, needed_scope = NEEDS[endpoint.action]
    if endpoint.action is Action.PULL and role is not None:
        return endpoint.ok, None  # readable, and every token (or none, for a public package) may pull
    if person is None:
        return 401, "UNAUTHORIZED"
    if needed_scope not in token_scopes(scope):
        return 403, "DENIED"
    if role is not None and role >= needed_role:
        return endpoint.ok, None
    if role is not None or endpoint.action is Action.PUSH:
        return 403, "DENIED"
    if endpoint.label == "referrers":  # the spec forbids a 404 there: an empty index, as for a missing name
        return 200, None
    return 404, "NAME_UNKNOWN"


def expected_mount(person: str | None, scope: str | None, visibility: str) -> tuple[int, str | None]:
    """A mount from ``acme/app`` into the caller's own namespace, where only the token's scope can stop a
    push: mounted (201) when the source is readable, otherwise an ordinary upload session (202)."""
    if person is None:
        return 401, "UNAUTHORIZED"
    if WRITE not in token_scopes(scope):
        return 403, "DENIED"
    return (201, None) if role_on_app(person, visibility) is not None else (202, None)


def looks_missing(endpoint: Endpoint, person: str | None, scope: str | None, visibility: str) -> bool:
    """Whether ``acme/app`` must answer as ``acme/ghost``: whenever the person may not read it, except a
    push by someone who may create packages in ``acme`` — the new name would be theirs to take."""
    if role_on_app(person, visibility) is not None:
        return False
    may_create_in_acme = person in ("alice", "bob") and WRITE in token_scopes(scope)
    return endpoint.mount or endpoint.action is not Action.PUSH or not may_create_in_acme


# --- the package and the callers, built once for the module -----------------------------------


def _push_app(client: Client, auth: str) -> None:
    extra: dict[str, Any] = {"HTTP_AUTHORIZATION": auth, "HTTP_HOST": HOST}
    for data in (*IMAGE.blobs.values(), LOOSE):
        response = client.post(f"/v2/{NAME}/blobs/uploads/?digest={sha256(data)}", data, content_type=OCTETS, **extra)
        assert response.status_code == 201, response.content
    response = client.put(f"/v2/{NAME}/manifests/v1", IMAGE.manifest, content_type=IMAGE.media_type, **extra)
    assert response.status_code == 201, response.content


def _people() -> dict[str, Any]:
    """alice (owner of acme), bob (member of acme), eve (outsider), as in tests/conftest.py."""
    users = {
        name: get_user_model().objects.create_user(name, f"{name}@example.com", "pw")
        for name in ("alice", "bob", "eve")
    }
    Membership.objects.create(organization=organization_create(name="acme", owner=users["alice"]), user=users["bob"])
    return users


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[dict[str, Any]]:
    """People, their tokens (one per scope) and ``acme/app``, committed to an outer transaction that
    each test's own (the ``db`` fixture's savepoint) rolls back to; undone when the module ends."""
    blobs = tmp_path_factory.mktemp("matrix-blobs")
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
            users = _people()
            tokens = {(p, s): basic(p, make_pat(users[p], s)) for p, s in CALLERS if p is not None and s is not None}
            _push_app(Client(), tokens["alice", WRITE])
            yield {"blobs": blobs, "tokens": tokens}
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            storage.blob_store.cache_clear()


@pytest.fixture
def blob_dir(world: dict[str, Any]) -> Any:
    """Overrides the per-test blob directory: the module's package lives in one built once."""
    return world["blobs"]


def _headers(world: dict[str, Any], person: str | None, scope: str | None) -> dict[str, Any]:
    extra: dict[str, Any] = {"HTTP_HOST": HOST}
    if person is not None:
        extra["HTTP_AUTHORIZATION"] = world["tokens"][person, scope]
    return extra


def _comparable(response: Any, name: str) -> tuple[Any, ...]:
    challenge = response.headers.get("WWW-Authenticate", "").replace(name, "NAME")
    return response.status_code, response.content, sorted(response.headers.keys()), challenge


@pytest.mark.parametrize("visibility", VISIBILITIES)
@pytest.mark.parametrize(("person", "scope"), CALLERS, ids=[f"{p or 'anonymous'}-{s or 'none'}" for p, s in CALLERS])
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_each_caller_gets_what_the_rules_allow(
    db: None,
    client: Client,
    world: dict[str, Any],
    endpoint: Endpoint,
    person: str | None,
    scope: str | None,
    visibility: str,
) -> None:
    Package.objects.filter(name=NAME).update(visibility=visibility)
    extra = _headers(world, person, scope)

    response = endpoint.send(client, NAME, person, extra)

    status, code = expected(endpoint, person, scope, visibility)
    assert response.status_code == status, response.content
    assert response["Docker-Distribution-API-Version"] == "registry/2.0"
    if code is not None and response.content:
        assert [e["code"] for e in response.json()["errors"]] == [code]
    if status == 401:
        assert response["WWW-Authenticate"].startswith(f'Bearer realm="http://{HOST}/token",service="{HOST}"')
    if looks_missing(endpoint, person, scope, visibility):
        missing = endpoint.send(client, GHOST, person, extra)
        assert _comparable(response, NAME) == _comparable(missing, GHOST)
        assert not Package.objects.filter(name=GHOST).exists()


def test_a_member_who_may_create_packages_learns_only_that_a_private_name_is_taken(
    db: None, client: Client, world: dict[str, Any]
) -> None:
    """The one exception to "private looks missing": bob may create ``acme/ghost``, not push to ``acme/app``."""
    extra = _headers(world, "bob", WRITE)
    taken = client.post(f"/v2/{NAME}/blobs/uploads/", **extra)
    assert taken.status_code == 403
    assert taken.json()["errors"][0]["code"] == "DENIED"
    assert client.get(f"/v2/{NAME}/manifests/v1", **extra).status_code == 404
    assert client.post(f"/v2/{GHOST}/blobs/uploads/", **extra).status_code == 202
