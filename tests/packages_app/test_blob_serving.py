"""Serving blobs from S3: GET redirects to a presigned URL on the storage endpoint, HEAD answers from the
database without touching the store."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from packages_app.storage import blob_store
from tests.oci import sha256
from tests.packages_app.conftest import BUCKET, PART_SIZE, S3Server, fresh_bucket, point_blobs_at

DATA = bytes(range(256)) * (PART_SIZE // 256 + 3)


@pytest.fixture
def pushed(registry: Any, s3_settings: str) -> str:
    assert registry.push_blob("acme/app", DATA).status_code == 201
    return sha256(DATA)


def test_get_redirects_to_a_presigned_url_that_serves_the_bytes(registry: Any, s3_settings: str, pushed: str) -> None:
    response = registry.client.get(f"/v2/acme/app/blobs/{pushed}")
    assert response.status_code == 307
    assert response["Docker-Content-Digest"] == pushed
    location = response["Location"]
    assert location.startswith(f"{s3_settings}/{BUCKET}/")
    assert "Signature=" in location
    with urllib.request.urlopen(location) as answer:
        assert answer.read() == DATA


def test_head_answers_from_the_database(registry: Any, pushed: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = blob_store()

    def untouchable(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("HEAD must not reach the store")

    for method in ("open", "url", "exists"):
        monkeypatch.setattr(store, method, untouchable)
    response = registry.client.head(f"/v2/acme/app/blobs/{pushed}")
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(DATA))
    assert response["Docker-Content-Digest"] == pushed
    assert response.content == b""


def test_get_of_an_unknown_blob_is_blob_unknown(registry: Any, s3_settings: str) -> None:
    assert registry.push_blob("acme/app", b"other").status_code == 201
    response = registry.client.get(f"/v2/acme/app/blobs/{sha256(b'missing')}")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "BLOB_UNKNOWN"


@pytest.fixture
def on_swift(settings: Any, blob_dir: Any, swift_server: S3Server) -> Iterator[S3Server]:
    """Blobs on Swift only: moto does not check presigned signatures or expiry, Swift's s3api does."""
    client = fresh_bucket(swift_server)
    point_blobs_at(settings, swift_server)
    yield swift_server
    client.close()


def _status(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_swift_refuses_a_tampered_presigned_url_and_serves_the_real_one(registry: Any, on_swift: S3Server) -> None:
    assert registry.push_blob("acme/app", DATA).status_code == 201
    location = registry.client.get(f"/v2/acme/app/blobs/{sha256(DATA)}")["Location"]
    key = location.split("?")[0].rsplit("/", 1)[-1]
    tampered = location.replace(key, key[:-1] + ("0" if key[-1] != "0" else "1"))
    status, body = _status(tampered)
    assert status == 403
    assert b"SignatureDoesNotMatch" in body
    assert _status(location) == (200, DATA)


def test_swift_refuses_an_expired_presigned_url(registry: Any, on_swift: S3Server, settings: Any) -> None:
    assert registry.push_blob("acme/app", b"short-lived").status_code == 201
    blobs = settings.STORAGES["blobs"]
    settings.STORAGES = {
        **settings.STORAGES,
        "blobs": {**blobs, "OPTIONS": {**blobs["OPTIONS"], "querystring_expire": 1}},
    }
    blob_store.cache_clear()
    location = registry.client.get(f"/v2/acme/app/blobs/{sha256(b'short-lived')}")["Location"]
    assert "X-Amz-Expires=1&" in location or location.endswith("X-Amz-Expires=1")
    time.sleep(2.5)
    status, body = _status(location)
    assert status == 403
    assert b"AccessDenied" in body
    assert b"expired" in body.lower()
