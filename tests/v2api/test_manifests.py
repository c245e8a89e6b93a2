"""Manifests: ``PUT``/``GET``/``HEAD``/``DELETE /v2/<name>/manifests/<reference>`` (distribution-spec
end-3, end-7, end-9), for OCI and Docker manifests, indexes and artifacts."""

from __future__ import annotations

import json
from typing import Any

from packages_app import pull_counts
from packages_app.models import DownloadCount, Manifest, Package, Tag
from tests.oci import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
    Image,
    canonical,
    layer_tar,
    make_image,
    make_index,
    sha256,
)

FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"


def _error_codes(response: Any) -> list[str]:
    return [e["code"] for e in response.json()["errors"]]


def _push_blobs(registry: Any, name: str, image: Image) -> None:
    for digest, data in image.blobs.items():
        assert registry.push_blob(name, data, digest).status_code == 201


def _artifact(subject: Image, *, artifact_type: str = "application/vnd.example.sbom", seed: str = "") -> Image:
    config = b"{}"
    layer = f"sbom {seed}".encode()
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256(config), "size": 2},
        "layers": [{"mediaType": "text/plain", "digest": sha256(layer), "size": len(layer)}],
        "subject": subject.descriptor(),
        "annotations": {"org.example.kind": "sbom"},
    }
    return Image(config, [layer], canonical(document), OCI_MANIFEST, {sha256(config): config, sha256(layer): layer})


def test_it_stores_a_manifest_pushed_by_tag_with_201_location_and_digest(registry: Any) -> None:
    image = make_image()
    response = registry.push_image("acme/app", image, tag="v1")
    assert response.status_code == 201
    assert response["Location"] == f"/v2/acme/app/manifests/{image.digest}"
    assert response["Docker-Content-Digest"] == image.digest
    manifest = Manifest.objects.get(package__name="acme/app", digest=image.digest)
    assert bytes(manifest.content) == image.manifest
    assert manifest.media_type == OCI_MANIFEST
    assert manifest.size == len(image.manifest)
    assert Tag.objects.get(package__name="acme/app", name="v1").manifest == manifest
    assert set(manifest.blobs.values_list("digest", flat=True)) == set(image.blobs)


def test_it_stores_a_manifest_pushed_by_digest_without_a_tag(registry: Any) -> None:
    image = make_image()
    response = registry.push_image("acme/app", image, tag=None)
    assert response.status_code == 201
    assert response["Location"] == f"/v2/acme/app/manifests/{image.digest}"
    assert response["Docker-Content-Digest"] == image.digest
    assert Manifest.objects.filter(digest=image.digest).exists()
    assert not Tag.objects.exists()


def test_it_serves_a_manifest_by_tag_and_by_digest_byte_for_byte(registry: Any) -> None:
    image = make_image()
    registry.push_image("acme/app", image, tag="v1")
    for reference in ("v1", image.digest):
        response = registry.client.get(f"/v2/acme/app/manifests/{reference}", HTTP_ACCEPT=OCI_MANIFEST)
        assert response.status_code == 200
        assert response.content == image.manifest
        assert response["Content-Type"] == OCI_MANIFEST
        assert response["Docker-Content-Digest"] == image.digest
        assert response["Content-Length"] == str(len(image.manifest))


def test_it_answers_head_of_a_manifest_with_headers_and_no_body(registry: Any) -> None:
    image = make_image()
    registry.push_image("acme/app", image, tag="v1")
    for reference in ("v1", image.digest):
        response = registry.client.head(f"/v2/acme/app/manifests/{reference}")
        assert response.status_code == 200
        assert response.content == b""
        assert response["Content-Type"] == OCI_MANIFEST
        assert response["Docker-Content-Digest"] == image.digest
        assert response["Content-Length"] == str(len(image.manifest))


def test_it_keeps_the_exact_bytes_of_a_manifest_that_is_not_canonical_json(registry: Any) -> None:
    image = make_image()
    _push_blobs(registry, "acme/app", image)
    body = json.dumps(json.loads(image.manifest), indent=3).encode() + b"\n"
    assert registry.push_manifest("acme/app", "pretty", body, OCI_MANIFEST)["Docker-Content-Digest"] == sha256(body)
    assert registry.client.get("/v2/acme/app/manifests/pretty").content == body


def test_it_stores_an_oci_index_of_pushed_manifests(registry: Any) -> None:
    amd, arm = make_image(arch="amd64"), make_image(arch="arm64")
    registry.push_image("acme/app", amd, tag=None)
    registry.push_image("acme/app", arm, tag=None)
    index = make_index(
        [(amd, {"os": "linux", "architecture": "amd64"}), (arm, {"os": "linux", "architecture": "arm64"})]
    )
    response = registry.push_manifest("acme/app", "multi", index, OCI_INDEX)
    assert response.status_code == 201
    assert response["Docker-Content-Digest"] == sha256(index)
    stored = Manifest.objects.get(digest=sha256(index))
    assert stored.media_type == OCI_INDEX
    assert set(stored.children.values_list("digest", flat=True)) == {amd.digest, arm.digest}
    got = registry.client.get("/v2/acme/app/manifests/multi", HTTP_ACCEPT=f"{OCI_INDEX}, {OCI_MANIFEST}")
    assert got.content == index
    assert got["Content-Type"] == OCI_INDEX


def test_it_stores_a_docker_schema_2_manifest(registry: Any) -> None:
    image = make_image(docker=True)
    response = registry.push_image("acme/app", image, tag="docker")
    assert response.status_code == 201
    got = registry.client.get("/v2/acme/app/manifests/docker", HTTP_ACCEPT=DOCKER_MANIFEST)
    assert got.status_code == 200
    assert got.content == image.manifest
    assert got["Content-Type"] == DOCKER_MANIFEST
    assert Manifest.objects.get(digest=image.digest).media_type == DOCKER_MANIFEST


def test_it_stores_a_docker_manifest_list(registry: Any) -> None:
    amd, arm = make_image(docker=True, arch="amd64"), make_image(docker=True, arch="arm64")
    registry.push_image("acme/app", amd, tag=None)
    registry.push_image("acme/app", arm, tag=None)
    document = {
        "schemaVersion": 2,
        "mediaType": DOCKER_LIST,
        "manifests": [
            amd.descriptor({"os": "linux", "architecture": "amd64"}),
            arm.descriptor({"os": "linux", "architecture": "arm64"}),
        ],
    }
    body = canonical(document)
    response = registry.push_manifest("acme/app", "list", body, DOCKER_LIST)
    assert response.status_code == 201
    got = registry.client.get("/v2/acme/app/manifests/list", HTTP_ACCEPT=DOCKER_LIST)
    assert got.content == body
    assert got["Content-Type"] == DOCKER_LIST
    assert Manifest.objects.get(digest=sha256(body)).media_type == DOCKER_LIST


def test_it_stores_an_artifact_with_a_subject_and_answers_with_oci_subject(registry: Any) -> None:
    image = make_image()
    registry.push_image("acme/app", image)
    artifact = _artifact(image)
    response = registry.push_image("acme/app", artifact, tag=None)
    assert response.status_code == 201
    assert response["OCI-Subject"] == image.digest
    stored = Manifest.objects.get(digest=artifact.digest)
    assert stored.artifact_type == "application/vnd.example.sbom"
    assert stored.subject_digest == image.digest
    assert stored.annotations == {"org.example.kind": "sbom"}


def test_it_accepts_an_artifact_whose_subject_does_not_exist(registry: Any) -> None:
    absent = make_image(seed="never pushed")
    artifact = _artifact(absent)
    response = registry.push_image("acme/app", artifact, tag=None)
    assert response.status_code == 201
    assert response["OCI-Subject"] == absent.digest
    assert not Manifest.objects.filter(digest=absent.digest).exists()
    assert Manifest.objects.get(digest=artifact.digest).subject_digest == absent.digest


def test_it_answers_no_oci_subject_for_a_manifest_without_subject(registry: Any) -> None:
    response = registry.push_image("acme/app", make_image())
    assert response.status_code == 201
    assert "OCI-Subject" not in response


def test_it_lists_each_missing_blob_as_its_own_manifest_blob_unknown_error(registry: Any) -> None:
    one, two = layer_tar({"one": b"1"}), layer_tar({"two": b"2"})
    image = make_image(layers=[one, two])
    config_digest = sha256(image.config)
    registry.push_blob("acme/app", image.config)
    response = registry.push_manifest("acme/app", "v1", image.manifest, OCI_MANIFEST)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [e["code"] for e in errors] == ["MANIFEST_BLOB_UNKNOWN", "MANIFEST_BLOB_UNKNOWN"]
    assert [e["detail"]["digest"] for e in errors] == [sha256(one), sha256(two)]
    assert config_digest not in json.dumps(errors)
    assert not Manifest.objects.exists()
    assert not Tag.objects.exists()


def test_it_refuses_a_manifest_whose_blobs_are_only_in_another_repository(registry: Any) -> None:
    image = make_image()
    _push_blobs(registry, "acme/other", image)
    response = registry.push_manifest("acme/app", "v1", image.manifest, OCI_MANIFEST)
    assert response.status_code == 400
    assert set(_error_codes(response)) == {"MANIFEST_BLOB_UNKNOWN"}
    assert len(_error_codes(response)) == len(image.blobs)


def test_it_refuses_an_index_with_a_missing_child_with_manifest_blob_unknown(registry: Any) -> None:
    present, absent = make_image(arch="amd64"), make_image(arch="arm64")
    registry.push_image("acme/app", present, tag=None)
    index = make_index(
        [(present, {"os": "linux", "architecture": "amd64"}), (absent, {"os": "linux", "architecture": "arm64"})]
    )
    response = registry.push_manifest("acme/app", "multi", index, OCI_INDEX)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(e["code"], e["detail"]["digest"]) for e in errors] == [("MANIFEST_BLOB_UNKNOWN", absent.digest)]
    assert not Manifest.objects.filter(digest=sha256(index)).exists()


def test_it_accepts_a_foreign_layer_without_its_blob_and_records_its_urls(registry: Any) -> None:
    config = b'{"architecture":"amd64","os":"windows"}'
    registry.push_blob("acme/win", config)
    url = "https://mcr.microsoft.com/v2/windows/servercore/blobs/sha256:" + "a" * 64
    foreign = {"mediaType": FOREIGN_LAYER, "digest": "sha256:" + "a" * 64, "size": 1024, "urls": [url]}
    document = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "digest": sha256(config),
            "size": len(config),
        },
        "layers": [foreign],
    }
    body = canonical(document)
    response = registry.push_manifest("acme/win", "ltsc", body, DOCKER_MANIFEST)
    assert response.status_code == 201
    stored = Manifest.objects.get(digest=sha256(body))
    assert stored.foreign_urls == [url]
    assert list(stored.blobs.values_list("digest", flat=True)) == [sha256(config)]


def test_it_still_requires_a_foreign_typed_layer_that_has_no_urls(registry: Any) -> None:
    config = b"{}"
    registry.push_blob("acme/win", config)
    document = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": sha256(config), "size": 2},
        "layers": [{"mediaType": FOREIGN_LAYER, "digest": "sha256:" + "b" * 64, "size": 1}],
    }
    response = registry.push_manifest("acme/win", "ltsc", canonical(document), DOCKER_MANIFEST)
    assert response.status_code == 400
    assert _error_codes(response) == ["MANIFEST_BLOB_UNKNOWN"]


def test_it_refuses_a_manifest_whose_body_does_not_match_the_digest_in_the_url(registry: Any) -> None:
    image, other = make_image(), make_image(seed="other")
    _push_blobs(registry, "acme/app", image)
    response = registry.push_manifest("acme/app", other.digest, image.manifest, OCI_MANIFEST)
    assert response.status_code == 400
    assert _error_codes(response) == ["DIGEST_INVALID"]
    assert not Manifest.objects.exists()


def test_it_refuses_a_body_that_is_not_json_with_manifest_invalid(registry: Any) -> None:
    response = registry.push_manifest("acme/app", "v1", b"{not json", OCI_MANIFEST)
    assert response.status_code == 400
    assert _error_codes(response) == ["MANIFEST_INVALID"]
    assert not Manifest.objects.exists()


def test_it_refuses_a_manifest_with_the_wrong_schema_version(registry: Any) -> None:
    image = make_image()
    _push_blobs(registry, "acme/app", image)
    document = json.loads(image.manifest)
    for version in (1, 3, "2", None):
        document["schemaVersion"] = version
        response = registry.push_manifest("acme/app", "v1", canonical(document), OCI_MANIFEST)
        assert response.status_code == 400, version
        assert _error_codes(response) == ["MANIFEST_INVALID"]
    assert not Manifest.objects.exists()


def test_it_refuses_a_manifest_whose_media_type_contradicts_the_content_type(registry: Any) -> None:
    image = make_image()
    _push_blobs(registry, "acme/app", image)
    response = registry.push_manifest("acme/app", "v1", image.manifest, DOCKER_MANIFEST)
    assert response.status_code == 400
    assert _error_codes(response) == ["MANIFEST_INVALID"]
    assert not Manifest.objects.exists()


def test_it_refuses_a_manifest_with_a_malformed_descriptor(registry: Any) -> None:
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": "sha256:short", "size": 2},
        "layers": [{"mediaType": OCI_LAYER, "digest": sha256(b"x"), "size": -1}],
    }
    response = registry.push_manifest("acme/app", "v1", canonical(document), OCI_MANIFEST)
    assert response.status_code == 400
    assert _error_codes(response) == ["MANIFEST_INVALID"]


def test_it_refuses_a_manifest_larger_than_the_limit_with_413(registry: Any, settings: Any) -> None:
    image = make_image()
    _push_blobs(registry, "acme/app", image)
    settings.WHARF_MAX_MANIFEST_SIZE = len(image.manifest) - 1
    response = registry.push_manifest("acme/app", "v1", image.manifest, OCI_MANIFEST)
    assert response.status_code == 413
    assert _error_codes(response) == ["SIZE_INVALID"]
    assert not Manifest.objects.exists()


def test_it_refuses_an_invalid_tag_with_tag_invalid(registry: Any) -> None:
    image = make_image()
    _push_blobs(registry, "acme/app", image)
    response = registry.push_manifest("acme/app", "-bad", image.manifest, OCI_MANIFEST)
    assert response.status_code == 400
    assert _error_codes(response) == ["TAG_INVALID"]
    assert not Manifest.objects.exists()


def test_it_applies_several_tags_given_in_one_put(registry: Any) -> None:
    image = make_image()
    _push_blobs(registry, "acme/app", image)
    response = registry.client.put(
        f"/v2/acme/app/manifests/{image.digest}?tag=a&tag=b", data=image.manifest, content_type=OCI_MANIFEST
    )
    assert response.status_code == 201
    assert response["Docker-Content-Digest"] == image.digest
    assert response["OCI-Tag"] == "a, b"
    names = Tag.objects.filter(manifest__digest=image.digest).values_list("name", flat=True)
    assert sorted(names) == ["a", "b"]
    for tag in ("a", "b"):
        assert registry.client.get(f"/v2/acme/app/manifests/{tag}").content == image.manifest


def test_it_moves_a_tag_to_the_manifest_pushed_last(registry: Any) -> None:
    first, second = make_image(seed="1"), make_image(seed="2")
    registry.push_image("acme/app", first, tag="latest")
    registry.push_image("acme/app", second, tag="latest")
    assert Tag.objects.get(name="latest").manifest.digest == second.digest
    assert registry.client.get(f"/v2/acme/app/manifests/{first.digest}").status_code == 200


def test_it_answers_manifest_unknown_when_accept_does_not_admit_the_stored_type(registry: Any) -> None:
    image = make_image()
    registry.push_image("acme/app", image, tag="v1")
    response = registry.client.get("/v2/acme/app/manifests/v1", HTTP_ACCEPT=DOCKER_MANIFEST)
    assert response.status_code == 404
    assert _error_codes(response) == ["MANIFEST_UNKNOWN"]


def test_it_serves_a_manifest_to_an_accept_header_with_parameters_and_wildcards(registry: Any) -> None:
    image = make_image()
    registry.push_image("acme/app", image, tag="v1")
    for accept in (f"{DOCKER_MANIFEST}, {OCI_MANIFEST};q=0.5", "*/*"):
        assert registry.client.get("/v2/acme/app/manifests/v1", HTTP_ACCEPT=accept).status_code == 200


def test_it_deletes_a_manifest_by_digest_with_its_tags(registry: Any) -> None:
    image = make_image()
    registry.push_image("acme/app", image, tag="v1")
    response = registry.client.delete(f"/v2/acme/app/manifests/{image.digest}")
    assert response.status_code == 202
    # A soft delete (REGISTRY.md "Deleting"): restorable for 30 days, gone to the registry at once.
    assert Manifest.objects.get(digest=image.digest).deleted_tags == ["v1"]
    assert not Manifest.objects.filter(digest=image.digest, deleted_at__isnull=True).exists()
    assert not Tag.objects.exists()
    for reference in (image.digest, "v1"):
        gone = registry.client.get(f"/v2/acme/app/manifests/{reference}")
        assert gone.status_code == 404
        assert _error_codes(gone) == ["MANIFEST_UNKNOWN"]


def test_it_deletes_a_tag_and_keeps_the_manifest_by_digest(registry: Any) -> None:
    image = make_image()
    registry.push_image("acme/app", image, tag="v1")
    response = registry.client.delete("/v2/acme/app/manifests/v1")
    assert response.status_code == 202
    assert not Tag.objects.exists()
    assert registry.client.get("/v2/acme/app/manifests/v1").status_code == 404
    assert registry.client.get(f"/v2/acme/app/manifests/{image.digest}").content == image.manifest


def test_it_answers_manifest_unknown_for_an_unknown_tag_or_digest(registry: Any) -> None:
    registry.push_image("acme/app", make_image())
    for reference in ("nope", sha256(b"nope")):
        for method in (registry.client.get, registry.client.delete):
            response = method(f"/v2/acme/app/manifests/{reference}")
            assert response.status_code == 404
            assert _error_codes(response) == ["MANIFEST_UNKNOWN"]


def test_it_answers_head_of_an_unknown_manifest_with_404_and_no_body(registry: Any) -> None:
    registry.push_image("acme/app", make_image())
    response = registry.client.head("/v2/acme/app/manifests/nope")
    assert response.status_code == 404
    assert response.content == b""


def test_it_answers_name_unknown_for_a_manifest_of_an_unknown_repository(registry: Any) -> None:
    response = registry.client.get("/v2/acme/ghost/manifests/latest")
    assert response.status_code == 404
    assert _error_codes(response) == ["NAME_UNKNOWN"]


def test_it_refuses_a_malformed_digest_reference_with_digest_invalid(registry: Any) -> None:
    registry.push_image("acme/app", make_image())
    response = registry.client.get("/v2/acme/app/manifests/sha256:abc")
    assert response.status_code == 400
    assert _error_codes(response) == ["DIGEST_INVALID"]


def test_it_refuses_an_uppercase_repository_name_with_name_invalid(registry: Any) -> None:
    image = make_image()
    response = registry.push_manifest("Acme/App", "v1", image.manifest, OCI_MANIFEST)
    assert response.status_code == 400
    assert _error_codes(response) == ["NAME_INVALID"]
    assert not Package.objects.exists()
    pull = registry.client.get("/v2/Acme/App/manifests/v1")
    assert pull.status_code == 400
    assert _error_codes(pull) == ["NAME_INVALID"]


def test_it_refuses_a_single_component_name_with_name_invalid(registry: Any) -> None:
    image = make_image()
    for response in (
        registry.push_manifest("app", "v1", image.manifest, OCI_MANIFEST),
        registry.client.post("/v2/app/blobs/uploads/"),
        registry.client.get("/v2/app/manifests/v1"),
    ):
        assert response.status_code == 400
        assert _error_codes(response) == ["NAME_INVALID"]
    assert not Package.objects.exists()


def test_it_serves_nested_repository_names(registry: Any) -> None:
    image = make_image()
    assert registry.push_image("acme/tools/builder", image, tag="v1").status_code == 201
    assert Package.objects.get().name == "acme/tools/builder"
    assert Package.objects.get().namespace == "acme"
    got = registry.client.get("/v2/acme/tools/builder/manifests/v1")
    assert got.status_code == 200
    assert got.content == image.manifest
    tags = registry.client.get("/v2/acme/tools/builder/tags/list")
    assert tags.json() == {"name": "acme/tools/builder", "tags": ["v1"]}


def test_it_counts_a_pull_per_version_and_day_but_not_a_head(registry: Any) -> None:

    image = make_image(seed="counted")
    assert registry.push_image("acme/counted", image, tag="v1").status_code == 201
    registry.client.get("/v2/acme/counted/manifests/v1")
    registry.client.get(f"/v2/acme/counted/manifests/{image.digest}")
    registry.client.head("/v2/acme/counted/manifests/v1")
    assert pull_counts.flush() == 2
    row = DownloadCount.objects.get(manifest__digest=image.digest)
    assert row.count == 2


def test_pulls_are_written_in_batches_not_one_update_per_pull(
    registry: Any, settings: Any, django_assert_num_queries: Any
) -> None:

    settings.WHARF_PULL_COUNT_FLUSH_SECONDS = 3600
    image = make_image(seed="batched")
    assert registry.push_image("acme/batched", image, tag="v1").status_code == 201
    pull_counts.flush()
    for _ in range(5):
        with django_assert_num_queries(1):  # the manifest with its package (an open registry): no write
            assert registry.client.get("/v2/acme/batched/manifests/v1").status_code == 200
    assert not DownloadCount.objects.exists()
    assert pull_counts.pending() == 5
    with django_assert_num_queries(1):  # one upsert
        assert pull_counts.flush() == 5
    registry.client.get(f"/v2/acme/batched/manifests/{image.digest}")
    pull_counts.flush()
    assert DownloadCount.objects.get(manifest__digest=image.digest).count == 6


def test_a_batch_is_written_by_the_first_pull_once_it_is_due(registry: Any, settings: Any) -> None:

    settings.WHARF_PULL_COUNT_FLUSH_SECONDS = 0
    image = make_image(seed="due")
    assert registry.push_image("acme/due", image, tag="v1").status_code == 201
    registry.client.get("/v2/acme/due/manifests/v1")
    assert pull_counts.pending() == 0
    assert DownloadCount.objects.get(manifest__digest=image.digest).count == 1


def test_pulls_of_a_version_removed_before_the_batch_is_written_are_dropped(registry: Any, settings: Any) -> None:

    settings.WHARF_PULL_COUNT_FLUSH_SECONDS = 3600
    image = make_image(seed="gone")
    assert registry.push_image("acme/gone", image, tag="v1").status_code == 201
    registry.client.get("/v2/acme/gone/manifests/v1")
    Manifest.objects.filter(digest=image.digest).delete()
    assert pull_counts.flush() == 1
    assert not DownloadCount.objects.exists()
