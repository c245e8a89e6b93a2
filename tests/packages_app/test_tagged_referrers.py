"""A referrer pushed with a tag (``oras push`` or ``skopeo copy`` of an SBOM or a signature under
``:sbom``) must not take over its package: the pull command, description, licence, source and
platforms still come from the images; the referrer's tag is listed as a version, on the pages and in
the REST API. alice owns acme."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from packages_app import metadata, uploads
from packages_app.models import Manifest, Package, Visibility
from packages_app.services.manifests import manifest_put
from packages_app.uploads import Chunk
from tests.conftest import make_pat
from tests.oci import Image, canonical, make_image, sha256

SPDX = "application/spdx+json"
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
LABELS = {
    "org.opencontainers.image.description": "A tiny web server",
    "org.opencontainers.image.licenses": "Apache-2.0",
    "org.opencontainers.image.source": "https://git.example.com/acme/app",
}


def push(image: Image, tag: str | None, user: Any) -> Manifest:
    """Push as a client does, then run the extraction the worker would run after the commit."""
    for digest, data in image.blobs.items():
        uploads.blob_upload_monolithic(name="acme/app", digest=digest, chunk=Chunk([data], length=len(data)), user=user)
    manifest, _ = manifest_put(
        name="acme/app", reference=tag or image.digest, body=image.manifest, content_type=image.media_type, user=user
    )
    metadata.manifest_extract_metadata(manifest_id=manifest.id)
    return manifest


def artifact(*, subject: Image | None, seed: str, config_type: str = "application/vnd.oci.empty.v1+json") -> Image:
    """What ``oras push`` (``oras attach`` with a subject) writes: an empty config and one file."""
    config, layer = b"{}", f"spdx {seed}".encode()
    document: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": SPDX,
        "config": {"mediaType": config_type, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": SPDX, "digest": sha256(layer), "size": len(layer)}],
    }
    if subject is not None:
        document["subject"] = subject.descriptor()
    blobs = {sha256(config): config, sha256(layer): layer}
    return Image(config, [layer], canonical(document), document["mediaType"], blobs)


@pytest.fixture(autouse=True)
def public_url(settings: Any) -> None:
    settings.WHARF_PUBLIC_URL = "https://wharf.test"  # the pull command's host


@pytest.fixture
def app(owner: Any) -> Image:
    """acme/app, public: one image tagged 1.0 with its labels, then an SBOM naming it, tagged ``sbom``."""
    image = make_image(labels=LABELS, arch="arm64")
    push(image, "1.0", owner)
    push(artifact(subject=image, seed="1"), "sbom", owner)
    Package.objects.filter(name="acme/app").update(visibility=Visibility.PUBLIC)
    return image


def page(path: str) -> str:
    return Client().get(path, HTTP_HOST="wharf.test").content.decode()


def test_the_pull_command_keeps_the_images_tag(app: Image) -> None:
    html = page("/acme/app")
    assert "docker pull wharf.test/acme/app:1.0" in html
    assert "acme/app:sbom" not in html


def test_description_licence_source_and_platforms_stay_the_images(app: Image) -> None:
    package = Package.objects.get(name="acme/app")
    assert (package.description, package.licenses, package.source_url) == (
        "A tiny web server",
        "Apache-2.0",
        "https://git.example.com/acme/app",
    )
    html = page("/acme/app")
    assert "A tiny web server" in html
    assert "Apache-2.0" in html
    assert '<span class="platform">linux/arm64</span>' in html


def test_the_referrers_tag_is_a_version_on_the_versions_page(app: Image) -> None:
    html = page("/acme/app/-/versions")
    assert '<span class="tag">sbom</span>' in html
    assert '<span class="tag">1.0</span>' in html
    assert html.count('<li class="version">') == 2


def test_the_referrers_tag_is_a_version_in_the_rest_api(app: Image, owner: Any) -> None:
    token = make_pat(owner, "read:packages")
    response = Client().get("/api/orgs/acme/packages/container/app/versions", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    tags = sorted(tag for v in response.json() for tag in v["metadata"]["container"]["tags"])
    assert tags == ["1.0", "sbom"]


def test_an_untagged_referrer_is_still_listed_only_under_its_subject(app: Image, owner: Any) -> None:
    push(artifact(subject=app, seed="untagged"), None, owner)
    assert page("/acme/app/-/versions").count('<li class="version">') == 2


def test_a_newer_image_tag_still_wins_over_an_older_one(app: Image, owner: Any) -> None:
    push(make_image(labels={"org.opencontainers.image.description": "two"}, seed="2"), "2.0", owner)
    push(artifact(subject=app, seed="again"), "sbom-2", owner)
    assert "docker pull wharf.test/acme/app:2.0" in page("/acme/app")
    assert Package.objects.get(name="acme/app").description == "two"


def test_a_tagged_artifact_without_subject_does_not_take_over_either(app: Image, owner: Any) -> None:
    push(artifact(subject=None, seed="plain"), "plain-sbom", owner)
    assert "docker pull wharf.test/acme/app:1.0" in page("/acme/app")
    assert Package.objects.get(name="acme/app").description == "A tiny web server"


def test_a_package_of_artifacts_only_takes_its_newest_artifacts_tag(owner: Any) -> None:
    push(artifact(subject=None, seed="chart", config_type=HELM_CONFIG), "0.1.0", owner)
    Package.objects.filter(name="acme/app").update(visibility=Visibility.PUBLIC)
    assert "docker pull wharf.test/acme/app:0.1.0" in page("/acme/app")


def test_a_referrer_is_never_the_install_tag_even_when_it_is_the_only_tag(owner: Any) -> None:
    subject = make_image(seed="untagged-subject")
    push(subject, None, owner)
    push(artifact(subject=subject, seed="only"), "sbom", owner)
    Package.objects.filter(name="acme/app").update(visibility=Visibility.PUBLIC)
    assert "docker pull wharf.test/acme/app:" not in page("/acme/app")
    assert Package.objects.get(name="acme/app").description == ""
