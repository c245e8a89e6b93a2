"""Deleting manifests and then their blobs, as the OCI conformance suites' content-management
workflows do (v1.1.1 "Content Management", head "Manifest Delete" then "Blob Delete"), and how a
version restored afterwards gets its blobs back (README "Deleting blobs and restoring versions")."""

from __future__ import annotations

from typing import Any

from packages_app.access import ANONYMOUS
from packages_app.models import Blob, Manifest, PackageBlob
from packages_app.services.versions import version_restore
from tests.oci import OCI_MANIFEST, make_image, sha256


def _codes(response: Any) -> list[str]:
    return [e["code"] for e in response.json()["errors"]]


def _tags(registry: Any) -> list[str]:
    response = registry.client.get("/v2/acme/app/tags/list")
    assert response.status_code == 200
    return list(response.json()["tags"])


def test_the_v1_1_1_content_management_workflow_runs_to_the_end(registry: Any) -> None:
    client = registry.client
    image = make_image(seed="conformance")
    config_digest = sha256(image.config)
    # Setup: the config by POST then PUT ?digest=, the layer, the manifest under a tag.
    started = client.post("/v2/acme/app/blobs/uploads/")
    assert started.status_code == 202
    put = client.put(
        f"{started['Location']}?digest={config_digest}", data=image.config, content_type="application/octet-stream"
    )
    assert put.status_code == 201
    assert registry.push_blob("acme/app", image.layers[0]).status_code == 201
    assert registry.push_manifest("acme/app", "tagtest0", image.manifest, OCI_MANIFEST).status_code == 201
    before = len(_tags(registry))

    # Manifest delete: the tag (Wharf deletes tags), then the digest.
    assert client.delete("/v2/acme/app/manifests/tagtest0").status_code == 202
    assert client.delete(f"/v2/acme/app/manifests/{image.digest}").status_code == 202
    assert client.get(f"/v2/acme/app/manifests/{image.digest}").status_code == 404
    assert len(_tags(registry)) < before

    # Blob delete: the deleted version no longer holds its config.
    deleted = client.delete(f"/v2/acme/app/blobs/{config_digest}")
    assert deleted.status_code == 202, deleted.content
    gone = client.get(f"/v2/acme/app/blobs/{config_digest}")
    assert gone.status_code == 404
    assert _codes(gone) == ["BLOB_UNKNOWN"]


def test_the_head_suites_manifest_then_blob_delete_runs_to_the_end(registry: Any) -> None:
    client = registry.client
    image = make_image(seed="head")
    assert registry.push_image("acme/app", image, tag="first").status_code == 201
    assert client.delete(f"/v2/acme/app/manifests/{image.digest}").status_code == 202
    assert client.get(f"/v2/acme/app/manifests/{image.digest}").status_code == 404
    for blob in (image.config, image.layers[0]):
        assert client.delete(f"/v2/acme/app/blobs/{sha256(blob)}").status_code == 202
        assert client.get(f"/v2/acme/app/blobs/{sha256(blob)}").status_code == 404


def test_a_blob_a_live_manifest_still_uses_cannot_be_deleted(registry: Any) -> None:
    old = make_image(seed="old")  # new: another config, the same layer
    new = make_image(layers=old.layers, labels={"version": "2"})
    shared = old.layers[0]
    assert registry.push_image("acme/app", old, tag="old").status_code == 201
    assert registry.push_image("acme/app", new, tag="new").status_code == 201
    assert registry.client.delete(f"/v2/acme/app/manifests/{old.digest}").status_code == 202
    refused = registry.client.delete(f"/v2/acme/app/blobs/{sha256(shared)}")
    assert refused.status_code == 405
    assert _codes(refused) == ["UNSUPPORTED"]
    assert refused.json()["errors"][0]["message"] == f"blob is used by manifest {new.digest}; delete the manifest first"
    assert registry.client.get(f"/v2/acme/app/blobs/{sha256(shared)}").status_code == 200


def test_restoring_a_version_links_its_deleted_blobs_again(registry: Any) -> None:
    client = registry.client
    image = make_image(seed="restore")
    assert registry.push_image("acme/app", image, tag="v1").status_code == 201
    assert client.delete(f"/v2/acme/app/manifests/{image.digest}").status_code == 202
    for blob in (image.config, image.layers[0]):
        assert client.delete(f"/v2/acme/app/blobs/{sha256(blob)}").status_code == 202
    assert not PackageBlob.objects.filter(package__name="acme/app").exists()
    # The deleted version still refers to the bytes, so garbage collection keeps them for a restore.
    assert Blob.objects.filter(digest=sha256(image.layers[0])).exists()

    version_restore(manifest=Manifest.objects.get(digest=image.digest), actor=ANONYMOUS)

    assert client.get("/v2/acme/app/manifests/v1").status_code == 200
    for blob in (image.config, image.layers[0]):
        pulled = client.get(f"/v2/acme/app/blobs/{sha256(blob)}")
        assert pulled.status_code == 200
        assert b"".join(pulled.streaming_content) == blob
