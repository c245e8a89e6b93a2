"""Manifests a client (or an attacker) sends that must be refused cleanly with ``MANIFEST_INVALID``:
nesting deep enough to exhaust the parser, documents whose type a client and the registry could read
differently (CVE-2021-41190: image-spec reserves ``manifests`` in a manifest and ``config``/``layers``
in an index), duplicate keys, and bodies whose Content-Type is not a manifest type. And a manifest
citing tens of thousands of unknown blobs, whose error list is capped."""

from __future__ import annotations

import json
from typing import Any

import pytest

from packages_app.models import Manifest, Tag
from tests.oci import OCI_INDEX, OCI_MANIFEST, canonical, make_image, sha256
from v2api.errors import MAX_LISTED_ERRORS


def _refused_as_invalid(response: Any) -> str:
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == "application/json"
    errors = response.json()["errors"]
    assert [e["code"] for e in errors] == ["MANIFEST_INVALID"]
    assert not Manifest.objects.exists()
    assert not Tag.objects.exists()
    return str(errors[0]["detail"]["reason"])


def _pushed_image(registry: Any) -> dict[str, Any]:
    image = make_image()
    for digest, data in image.blobs.items():
        assert registry.push_blob("acme/app", data, digest).status_code == 201
    return dict(json.loads(image.manifest))


def test_it_refuses_a_body_nested_fifty_thousand_levels_deep(registry: Any) -> None:
    body = b"[" * 50_000 + b"]" * 50_000
    reason = _refused_as_invalid(registry.push_manifest("acme/app", "v1", body, OCI_MANIFEST))
    assert "nests deeper" in reason


def test_it_refuses_deep_nesting_inside_a_field_of_a_valid_manifest(registry: Any) -> None:
    document = _pushed_image(registry)
    for depth in (50_000, 200):  # past Python's recursion limit, and below it but past any real manifest
        deep = "[" * depth + "]" * depth
        body = canonical(document)[:-1] + f',"annotations":{{"x":"y"}},"platform":{deep}}}'.encode()
        reason = _refused_as_invalid(registry.push_manifest("acme/app", "v1", body, OCI_MANIFEST))
        assert "nests deeper" in reason, depth


def test_it_refuses_an_image_manifest_that_also_lists_manifests(registry: Any) -> None:
    document = _pushed_image(registry)
    document["manifests"] = []
    reason = _refused_as_invalid(registry.push_manifest("acme/app", "v1", canonical(document), OCI_MANIFEST))
    assert "must not have a manifests list" in reason


@pytest.mark.parametrize("field", ["config", "layers"])
def test_it_refuses_an_index_that_also_has_config_or_layers(registry: Any, field: str) -> None:
    image = _pushed_image(registry)
    document = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [], field: image[field]}
    reason = _refused_as_invalid(registry.push_manifest("acme/app", "v1", canonical(document), OCI_INDEX))
    assert "must not have config or layers" in reason


@pytest.mark.parametrize("content_type", [OCI_MANIFEST, OCI_INDEX])
def test_it_refuses_a_manifest_without_media_type_that_has_both_shapes(registry: Any, content_type: str) -> None:
    document = _pushed_image(registry)
    del document["mediaType"]
    document["manifests"] = []
    _refused_as_invalid(registry.push_manifest("acme/app", "v1", canonical(document), content_type))


def test_it_still_accepts_a_manifest_without_media_type_when_content_type_names_it(registry: Any) -> None:
    document = _pushed_image(registry)
    del document["mediaType"]
    response = registry.push_manifest("acme/app", "v1", canonical(document), OCI_MANIFEST)
    assert response.status_code == 201
    assert Manifest.objects.get().media_type == OCI_MANIFEST


def test_it_refuses_a_manifest_whose_type_is_stated_nowhere(registry: Any) -> None:
    document = _pushed_image(registry)
    del document["mediaType"]
    reason = _refused_as_invalid(registry.push_manifest("acme/app", "v1", canonical(document), ""))
    assert "neither by Content-Type nor by mediaType" in reason


def test_it_refuses_duplicate_media_type_keys(registry: Any) -> None:
    document = _pushed_image(registry)
    body = canonical(document)[:-1] + f',"mediaType":"{OCI_INDEX}"}}'.encode()
    assert json.loads(body)["mediaType"] == OCI_INDEX  # what a parser keeping the last value reads
    reason = _refused_as_invalid(registry.push_manifest("acme/app", "v1", body, OCI_MANIFEST))
    assert reason == "duplicate key 'mediaType'"


def test_it_refuses_a_duplicate_key_inside_a_descriptor(registry: Any) -> None:
    document = _pushed_image(registry)
    config = document["config"]
    other = sha256(b"other")
    body = canonical(document).replace(
        f'"digest":"{config["digest"]}"'.encode(), f'"digest":"{config["digest"]}","digest":"{other}"'.encode(), 1
    )
    reason = _refused_as_invalid(registry.push_manifest("acme/app", "v1", body, OCI_MANIFEST))
    assert reason == "duplicate key 'digest'"


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "application/octet-stream"])
def test_it_refuses_a_manifest_sent_with_a_content_type_that_is_not_a_manifest_type(
    registry: Any, content_type: str
) -> None:
    document = _pushed_image(registry)
    reason = _refused_as_invalid(registry.push_manifest("acme/app", "v1", canonical(document), content_type))
    assert reason == f"Content-Type {content_type!r} is not a manifest media type"


def test_it_refuses_an_index_body_sent_as_an_image_manifest(registry: Any) -> None:
    document = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
    reason = _refused_as_invalid(registry.push_manifest("acme/app", "v1", canonical(document), OCI_MANIFEST))
    assert "does not match Content-Type" in reason


def test_it_caps_the_errors_for_a_manifest_citing_thirty_thousand_unknown_blobs(registry: Any) -> None:
    config = b"{}"
    assert registry.push_blob("acme/app", config).status_code == 201
    layers = [
        {"mediaType": "x", "digest": sha256(str(i).encode()), "size": 1}  # short: under the 4 MiB limit
        for i in range(30_000)
    ]
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(config), "size": 2},
        "layers": layers,
    }
    response = registry.push_manifest("acme/app", "v1", canonical(document), OCI_MANIFEST)
    assert response.status_code == 400
    assert len(response.content) < 50_000
    errors = response.json()["errors"]
    assert len(errors) == MAX_LISTED_ERRORS + 1
    assert {e["code"] for e in errors} == {"MANIFEST_BLOB_UNKNOWN"}
    assert [e["detail"]["digest"] for e in errors[:-1]] == [d["digest"] for d in layers[:MAX_LISTED_ERRORS]]
    assert errors[-1]["detail"] == {"more": 30_000 - MAX_LISTED_ERRORS}
    assert errors[-1]["message"] == f"and {30_000 - MAX_LISTED_ERRORS} more unknown blobs or manifests not listed"
    assert not Manifest.objects.exists()
