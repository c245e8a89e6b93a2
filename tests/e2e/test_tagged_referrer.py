"""skopeo pushes an image, then an SBOM that names it as its subject under a tag of its own (``:sbom``),
to a production-like Wharf (gunicorn, personal access tokens, extraction run after each commit). The
package page still speaks for the image: its pull command, description, licence, source and platform;
the SBOM's tag is a version on the versions page, in the REST API and in ``tags/list``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from packages_app.models import Manifest, Package
from packages_app.services.packages import package_set_visibility
from tests.conftest import basic, make_pat
from tests.e2e.conftest import WharfServer
from tests.e2e.test_skopeo import image_layout, run_skopeo, write_oci_layout
from tests.oci import OCI_MANIFEST, canonical, make_image, sha256

pytestmark = pytest.mark.e2e

SPDX = "application/spdx+json"
LABELS = {
    "org.opencontainers.image.description": "A tiny web server",
    "org.opencontainers.image.licenses": "Apache-2.0",
    "org.opencontainers.image.source": "https://git.example.com/acme/app",
}


def sbom_layout(directory: Path, subject: dict[str, Any]) -> str:
    """An OCI layout tagged ``sbom`` holding an SBOM artifact (empty config, one SPDX file) naming ``subject``."""
    config, sbom = b"{}", json.dumps({"spdxVersion": "SPDX-2.3", "name": "app"}).encode()
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": SPDX,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": SPDX, "digest": sha256(sbom), "size": len(sbom)}],
        "subject": subject,
    }
    manifest = canonical(document)
    top = {"mediaType": OCI_MANIFEST, "digest": sha256(manifest), "size": len(manifest)}
    write_oci_layout(directory, "sbom", top, [manifest, config, sbom])
    return sha256(manifest)


@pytest.mark.parametrize("wharf_server_closed", [{"CELERY_TASK_ALWAYS_EAGER": "true"}], indirect=True)
def test_a_tagged_sbom_pushed_with_skopeo_does_not_take_over_the_package_page(
    wharf_server_closed: WharfServer, skopeo: str, owner: Any, tmp_path: Path
) -> None:
    server = wharf_server_closed
    token = make_pat(owner, "read:packages", "write:packages")
    push = ("copy", "--dest-tls-verify=false", f"--dest-creds=alice:{token}")
    image = make_image(labels=LABELS, arch="arm64")
    image_layout(tmp_path / "image", "1.0", image)
    run_skopeo(skopeo, *push, f"oci:{tmp_path / 'image'}:1.0", f"docker://{server.host}/acme/app:1.0")
    sbom_digest = sbom_layout(tmp_path / "sbom", image.descriptor())
    run_skopeo(skopeo, *push, f"oci:{tmp_path / 'sbom'}:sbom", f"docker://{server.host}/acme/app:sbom")

    sbom = Manifest.objects.get(package__name="acme/app", digest=sbom_digest)
    assert sbom.subject_digest == image.digest
    assert sbom.tags.get().name == "sbom"
    package = Package.objects.get(name="acme/app")
    assert (package.description, package.licenses, package.source_url) == tuple(LABELS.values())
    package_set_visibility(package=package, user=owner, visibility="public")

    page = server.request("GET", "/acme/app").body.decode()
    assert f"docker pull {server.host}/acme/app:1.0" in page
    assert "acme/app:sbom" not in page
    assert "A tiny web server" in page
    assert "Apache-2.0" in page
    assert '<span class="platform">linux/arm64</span>' in page
    versions = server.request("GET", "/acme/app/-/versions").body.decode()
    assert '<span class="tag">sbom</span>' in versions
    assert '<span class="tag">1.0</span>' in versions
    api = server.request(
        "GET", "/api/orgs/acme/packages/container/app/versions", headers={"Authorization": f"Bearer {token}"}
    )
    assert api.status == 200
    assert sorted(t for v in json.loads(api.body) for t in v["metadata"]["container"]["tags"]) == ["1.0", "sbom"]
    tags = server.request("GET", "/v2/acme/app/tags/list", headers={"Authorization": basic("alice", token)})
    assert tags.status == 200
    assert json.loads(tags.body)["tags"] == ["1.0", "sbom"]
