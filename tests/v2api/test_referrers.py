"""``GET /v2/<name>/referrers/<digest>`` (distribution-spec "Listing Referrers", end-12a, end-12b)."""

from __future__ import annotations

from typing import Any

from tests.conftest import basic, make_pat
from tests.oci import OCI_INDEX, OCI_MANIFEST, Image, canonical, make_image, sha256

SBOM = "application/vnd.example.sbom.v1+json"
SIGNATURE = "application/vnd.example.signature.v1"


def _artifact(subject: Image, artifact_type: str | None, *, config_type: str, seed: str) -> Image:
    config = f'{{"seed":"{seed}"}}'.encode()
    layer = f"payload {seed}".encode()
    document: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": config_type, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": "text/plain", "digest": sha256(layer), "size": len(layer)}],
        "subject": subject.descriptor(),
        "annotations": {"org.example.seed": seed},
    }
    if artifact_type:
        document["artifactType"] = artifact_type
    return Image(config, [layer], canonical(document), OCI_MANIFEST, {sha256(config): config, sha256(layer): layer})


def _referrers(registry: Any, digest: str, query: str = "") -> Any:
    return registry.client.get(f"/v2/acme/app/referrers/{digest}{query}")


def test_it_answers_an_empty_index_when_nothing_refers_to_a_manifest(registry: Any) -> None:
    image = make_image()
    registry.push_image("acme/app", image)
    response = _referrers(registry, image.digest)
    assert response.status_code == 200
    assert response["Content-Type"] == OCI_INDEX
    assert response.json() == {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
    assert "OCI-Filters-Applied" not in response


def test_it_answers_an_empty_index_for_a_digest_that_is_not_stored(registry: Any) -> None:
    registry.push_image("acme/app", make_image())
    response = _referrers(registry, sha256(b"absent"))
    assert response.status_code == 200
    assert response.json()["manifests"] == []


def test_it_lists_artifacts_with_their_artifact_type_and_annotations(registry: Any) -> None:
    image = make_image()
    registry.push_image("acme/app", image)
    sbom = _artifact(image, SBOM, config_type="application/vnd.oci.empty.v1+json", seed="sbom")
    registry.push_image("acme/app", sbom, tag=None)
    response = _referrers(registry, image.digest)
    assert response.status_code == 200
    assert response.json()["manifests"] == [
        {
            "mediaType": OCI_MANIFEST,
            "digest": sbom.digest,
            "size": len(sbom.manifest),
            "artifactType": SBOM,
            "annotations": {"org.example.seed": "sbom"},
        }
    ]


def test_it_uses_the_config_media_type_as_artifact_type_when_none_is_given(registry: Any) -> None:
    image = make_image()
    registry.push_image("acme/app", image)
    signature = _artifact(image, None, config_type=SIGNATURE, seed="sig")
    registry.push_image("acme/app", signature, tag=None)
    [descriptor] = _referrers(registry, image.digest).json()["manifests"]
    assert descriptor["digest"] == signature.digest
    assert descriptor["artifactType"] == SIGNATURE


def test_it_lists_referrers_whose_subject_was_pushed_after_them(registry: Any) -> None:
    image = make_image()
    sbom = _artifact(image, SBOM, config_type="application/vnd.oci.empty.v1+json", seed="early")
    registry.push_image("acme/app", sbom, tag=None)
    registry.push_image("acme/app", image)
    assert [d["digest"] for d in _referrers(registry, image.digest).json()["manifests"]] == [sbom.digest]


def test_it_filters_referrers_by_artifact_type_and_says_so(registry: Any) -> None:
    image = make_image()
    registry.push_image("acme/app", image)
    sbom = _artifact(image, SBOM, config_type="application/vnd.oci.empty.v1+json", seed="sbom")
    signature = _artifact(image, SIGNATURE, config_type="application/vnd.oci.empty.v1+json", seed="sig")
    registry.push_image("acme/app", sbom, tag=None)
    registry.push_image("acme/app", signature, tag=None)
    assert len(_referrers(registry, image.digest).json()["manifests"]) == 2
    response = _referrers(registry, image.digest, f"?artifactType={SIGNATURE}")
    assert response.status_code == 200
    assert response["OCI-Filters-Applied"] == "artifactType"
    assert [d["digest"] for d in response.json()["manifests"]] == [signature.digest]


def test_it_does_not_list_referrers_from_another_repository(registry: Any) -> None:
    image = make_image()
    registry.push_image("acme/app", image)
    registry.push_image("acme/other", image)
    registry.push_image("acme/other", _artifact(image, SBOM, config_type="x/y", seed="elsewhere"), tag=None)
    assert _referrers(registry, image.digest).json()["manifests"] == []


def test_it_stops_listing_a_deleted_referrer(registry: Any) -> None:
    image = make_image()
    registry.push_image("acme/app", image)
    sbom = _artifact(image, SBOM, config_type="x/y", seed="gone")
    registry.push_image("acme/app", sbom, tag=None)
    assert registry.client.delete(f"/v2/acme/app/manifests/{sbom.digest}").status_code == 202
    assert _referrers(registry, image.digest).json()["manifests"] == []


def test_it_refuses_an_invalid_digest_with_400(registry: Any) -> None:
    registry.push_image("acme/app", make_image())
    response = _referrers(registry, "sha256:nothex")
    assert response.status_code == 400
    assert [e["code"] for e in response.json()["errors"]] == ["DIGEST_INVALID"]


def test_it_answers_an_empty_index_for_a_repository_never_pushed(registry: Any) -> None:
    # distribution-spec "Listing Referrers": a registry supporting the API MUST NOT answer 404 here.
    response = registry.client.get(f"/v2/acme/ghost/referrers/{sha256(b'x')}?artifactType={SBOM}")
    assert response.status_code == 200
    assert response["Content-Type"] == OCI_INDEX
    assert response.json() == {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
    assert response["OCI-Filters-Applied"] == "artifactType"


def test_it_still_refuses_an_invalid_digest_in_a_repository_never_pushed(registry: Any) -> None:
    response = registry.client.get("/v2/acme/ghost/referrers/sha256:nothex")
    assert response.status_code == 400
    assert [e["code"] for e in response.json()["errors"]] == ["DIGEST_INVALID"]


# --- who may see referrers: a private package lists as much as a missing one to outsiders ----------


def _push_with(client: Any, name: str, image: Image, auth: str, tag: str) -> None:
    for digest, data in image.blobs.items():
        pushed = client.post(
            f"/v2/{name}/blobs/uploads/?digest={digest}",
            data=data,
            content_type="application/octet-stream",
            HTTP_AUTHORIZATION=auth,
        )
        assert pushed.status_code == 201, pushed.content
    stored = client.put(
        f"/v2/{name}/manifests/{tag}", data=image.manifest, content_type=image.media_type, HTTP_AUTHORIZATION=auth
    )
    assert stored.status_code == 201, stored.content


def test_a_private_packages_referrers_look_like_a_missing_ones_to_whoever_cannot_read_it(
    client: Any, owner: Any, outsider: Any
) -> None:

    alice = basic("alice", make_pat(owner, "write:packages"))
    image = make_image(seed="private")
    _push_with(client, "acme/app", image, alice, "v1")
    _push_with(client, "acme/app", _artifact(image, SBOM, config_type="x/y", seed="s"), alice, "sbom")
    path = f"referrers/{image.digest}"

    seen = client.get(f"/v2/acme/app/{path}", HTTP_AUTHORIZATION=alice)
    assert seen.status_code == 200
    assert [m["artifactType"] for m in seen.json()["manifests"]] == [SBOM]

    eve = basic("eve", make_pat(outsider, "read:packages"))
    for auth in (eve, None):
        extra = {"HTTP_AUTHORIZATION": auth} if auth else {}
        private = client.get(f"/v2/acme/app/{path}", **extra)
        missing = client.get(f"/v2/acme/nothing/{path}", **extra)
        assert private.status_code == missing.status_code == (200 if auth else 401)
        assert private.content == missing.content
        assert sorted(private.headers.keys()) == sorted(missing.headers.keys())
    assert client.get(f"/v2/acme/app/{path}", HTTP_AUTHORIZATION=eve).json()["manifests"] == []
