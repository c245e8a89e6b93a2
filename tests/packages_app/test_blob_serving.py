"""Serving blobs from S3: GET redirects to a presigned URL on the storage endpoint, HEAD answers from the
database without touching the store."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest

from packages_app.storage import blob_store
from tests.oci import sha256
from tests.packages_app.conftest import BUCKET, PART_SIZE

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
