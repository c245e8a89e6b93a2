"""Fixtures shared by every test: an isolated blob store per test, an open registry, and a client
that speaks the registry protocol (push a blob, push an image)."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.test.client import ClientHandler

from accounts.models import Membership, Organization
from accounts.services import organization_create
from packages_app import pull_counts, storage
from tests.oci import Image, sha256
from throttling import limiter
from tokens_app.services import token_create
from v2api import bearer_cache


@pytest.fixture(autouse=True)
def blob_dir(settings: Any, tmp_path: Any) -> Iterator[Any]:
    """Every test gets its own blob directory (and a fresh store object pointing at it)."""
    path = tmp_path / "blobs"
    path.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "blobs": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(path)}},
    }
    storage.blob_store.cache_clear()
    yield path
    storage.blob_store.cache_clear()


@pytest.fixture(autouse=True)
def pull_counts_of_this_test() -> Iterator[None]:
    """Pulls counted and tokens remembered in memory belong to the test's database, rolled back after it."""
    pull_counts.discard()
    bearer_cache.clear()
    yield
    pull_counts.discard()
    bearer_cache.clear()


@pytest.fixture(autouse=True)
def fresh_rate_limit_counters() -> Iterator[None]:
    """In-process rate-limit counters (the token page's limit is on by default) belong to one test."""
    limiter.backend.cache_clear()
    yield
    limiter.backend.cache_clear()


@pytest.fixture(autouse=True)
def no_server_errors(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Zero 500s: any response with a 5xx status that the test client receives fails the test, unless the
    test provokes it on purpose (``@pytest.mark.allow_5xx(507)``). DRF's handler turns unexpected
    exceptions into 500 answers, which the test client does not raise."""
    seen: list[str] = []
    real = ClientHandler.get_response

    def get_response(self: ClientHandler, django_request: Any) -> Any:
        response = real(self, django_request)
        if response.status_code >= 500:
            seen.append(f"{django_request.method} {django_request.get_full_path()} -> {response.status_code}")
        return response

    monkeypatch.setattr(ClientHandler, "get_response", get_response)
    yield
    marker = request.node.get_closest_marker("allow_5xx")
    allowed = set(marker.args) if marker else set()
    unexpected = [line for line in seen if int(line.rsplit(" ", 1)[1]) not in allowed]
    assert not unexpected, "the test client got server errors:\n" + "\n".join(unexpected)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Test users are created by the dozen; PBKDF2 at production strength would dominate the run."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def public_url(settings: Any) -> str:
    """The registry's public address in tests (the realm, token service and pages' host come from it)."""
    settings.WHARF_PUBLIC_URL = "http://registry.example"
    return "http://registry.example"


@pytest.fixture
def open_registry(settings: Any) -> None:
    """Anonymous pushes allowed (the explicit WHARF_ANONYMOUS_PUSH setting)."""
    settings.WHARF_ANONYMOUS_PUSH = True


class RegistryClient:
    """Django's test client plus the few protocol steps most tests need."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def push_blob(self, name: str, data: bytes, digest: str | None = None) -> Any:

        return self.client.post(
            f"/v2/{name}/blobs/uploads/?digest={digest or sha256(data)}",
            data=data,
            content_type="application/octet-stream",
        )

    def push_manifest(self, name: str, reference: str, body: bytes, media_type: str) -> Any:
        return self.client.put(f"/v2/{name}/manifests/{reference}", data=body, content_type=media_type)

    def push_image(self, name: str, image: Image, tag: str | None = "latest") -> Any:
        for digest, data in image.blobs.items():
            assert self.push_blob(name, data, digest).status_code == 201
        return self.push_manifest(name, tag or image.digest, image.manifest, image.media_type)


@pytest.fixture
def registry(client: Client, open_registry: None, db: None) -> RegistryClient:
    return RegistryClient(client)


def pytest_report_header(config: Any) -> str:
    return f"database: {os.environ.get('DATABASE_URL', 'sqlite (embedded default)')}"


# --- people, organizations and tokens ---------------------------------------------------------


@pytest.fixture
def owner(db: None) -> Any:
    """alice: owner of the organization ``acme``."""
    user = get_user_model().objects.create_user("alice", "alice@example.com", "correct horse battery")
    organization_create(name="acme", owner=user)
    return user


@pytest.fixture
def member(owner: Any) -> Any:
    """bob: a plain member of ``acme``."""
    user = get_user_model().objects.create_user("bob", "bob@example.com", "correct horse battery")
    Membership.objects.create(organization=Organization.objects.get(name="acme"), user=user)
    return user


@pytest.fixture
def outsider(db: None) -> Any:
    """eve: a user outside ``acme``."""
    return get_user_model().objects.create_user("eve", "eve@example.com", "correct horse battery")


def make_pat(user: Any, *scopes: str, expires_at: Any = None) -> str:
    """A personal access token's plaintext for ``user`` with ``scopes``."""
    return token_create(user=user, note="test", scopes=scopes or ["read:packages"], expires_at=expires_at).plaintext


def basic(username: str, secret: str) -> str:

    return "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()
