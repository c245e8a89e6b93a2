"""cosign-style fallback tags pushed with skopeo: a signature tagged ``sha256-<hex>.sig`` and an SBOM
tagged ``sha256-<hex>.sbom`` (no ``subject`` field, as cosign pushes them to registries without the
referrers API) are referrers of the version they name — in ``GET /v2/…/referrers/<digest>`` and on
that version's page — and never the package's latest tag or install command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from packages_app.models import Manifest, Package
from tests.e2e.conftest import WharfServer
from tests.e2e.test_skopeo import image_layout, run_skopeo, write_oci_layout
from tests.oci import OCI_MANIFEST, canonical, make_image, sha256

pytestmark = pytest.mark.e2e

SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SBOM = "application/vnd.dev.cosign.artifact.sbom.v1+json"


def attachment_layout(directory: Path, tag: str, media_type: str, payload: bytes) -> str:
    config = b"{}"
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": media_type, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": media_type, "digest": sha256(payload), "size": len(payload)}],
    }
    manifest = canonical(document)
    top = {"mediaType": OCI_MANIFEST, "digest": sha256(manifest), "size": len(manifest)}
    write_oci_layout(directory, tag, top, [manifest, config, payload])
    return sha256(manifest)


def test_cosign_fallback_tags_pushed_with_skopeo_are_referrers_not_latest(
    wharf_server: WharfServer, skopeo: str, tmp_path: Path
) -> None:
    dest = f"docker://{wharf_server.host}/acme/app"
    image = make_image(seed="cosigned")
    image_layout(tmp_path / "image", "v1", image)
    run_skopeo(skopeo, "copy", "--dest-tls-verify=false", f"oci:{tmp_path / 'image'}:v1", f"{dest}:v1")
    fallback = "sha256-" + image.digest.removeprefix("sha256:")
    payload = canonical({"critical": {"image": {"docker-manifest-digest": image.digest}}})
    signature = attachment_layout(tmp_path / "sig", "s", SIMPLESIGNING, payload)
    sbom = attachment_layout(tmp_path / "sbom", "s", SBOM, b'{"spdxVersion":"SPDX-2.3"}')
    run_skopeo(skopeo, "copy", "--dest-tls-verify=false", f"oci:{tmp_path / 'sig'}:s", f"{dest}:{fallback}.sig")
    run_skopeo(skopeo, "copy", "--dest-tls-verify=false", f"oci:{tmp_path / 'sbom'}:s", f"{dest}:{fallback}.sbom")

    answer = wharf_server.request("GET", f"/v2/acme/app/referrers/{image.digest}")
    assert answer.status == 200
    listed = {d["digest"]: d.get("artifactType") for d in json.loads(answer.body)["manifests"]}
    assert listed == {signature: SIMPLESIGNING, sbom: SBOM}

    Package.objects.filter(name="acme/app").update(visibility="public")
    version = Manifest.objects.get(package__name="acme/app", digest=image.digest)
    page = wharf_server.request("GET", f"/acme/app/-/versions/{version.id}").body.decode()
    assert signature in page
    assert sbom in page
    assert "Signature" in page
    assert "SBOM" in page
    package_page = wharf_server.request("GET", "/acme/app").body.decode()
    assert "acme/app:v1" in package_page
    assert ".sig" not in package_page
    assert ".sbom" not in package_page
