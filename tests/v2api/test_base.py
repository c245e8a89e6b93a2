from __future__ import annotations

from typing import Any

import pytest

from tests.oci import make_image, sha256


def test_it_answers_the_version_check_with_the_api_version_header(registry: Any) -> None:
    response = registry.client.get("/v2/")
    assert response.status_code == 200
    assert response["Docker-Distribution-API-Version"] == "registry/2.0"


@pytest.mark.django_db
def test_it_challenges_anonymous_callers_at_the_version_check_like_ghcr(client: Any) -> None:
    response = client.get("/v2/", HTTP_HOST="registry.example")
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert response["WWW-Authenticate"] == 'Bearer realm="http://registry.example/token",service="registry.example"'
    assert response["Docker-Distribution-API-Version"] == "registry/2.0"


def test_it_round_trips_an_image_byte_for_byte(registry: Any) -> None:
    image = make_image(labels={"org.opencontainers.image.description": "demo"})
    response = registry.push_image("acme/demo", image, tag="v1")
    assert response.status_code == 201
    assert response["Docker-Content-Digest"] == image.digest
    got = registry.client.get("/v2/acme/demo/manifests/v1", HTTP_ACCEPT=image.media_type)
    assert got.status_code == 200
    assert got.content == image.manifest
    assert got["Content-Type"] == image.media_type
    layer = image.layers[0]

    blob = registry.client.get(f"/v2/acme/demo/blobs/{sha256(layer)}")
    assert blob.status_code == 200
    assert b"".join(blob.streaming_content) == layer
