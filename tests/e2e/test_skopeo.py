"""skopeo against a real Wharf: images go in and come out byte for byte (OCI manifest, OCI index with
``--all``, Docker schema 2), and the registry stores what it was given."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest

from packages_app.models import Blob, Manifest, Tag
from tests.e2e.conftest import WharfServer
from tests.oci import DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, Image, canonical, layer_tar, make_image, sha256

pytestmark = pytest.mark.e2e

REF_NAME = "org.opencontainers.image.ref.name"


def run_skopeo(skopeo: str, *args: str) -> bytes:
    done = subprocess.run([skopeo, "--insecure-policy", *args], capture_output=True, timeout=120)
    assert done.returncode == 0, f"skopeo {' '.join(args)} failed:\n{done.stdout!r}\n{done.stderr.decode()}"
    return done.stdout


def write_blob(directory: Path, data: bytes) -> str:
    digest = sha256(data)
    (directory / "blobs" / "sha256" / digest.removeprefix("sha256:")).write_bytes(data)
    return digest


def write_oci_layout(directory: Path, tag: str, top: dict[str, Any], blobs: list[bytes]) -> None:
    """An OCI image layout: ``oci-layout``, every blob under ``blobs/sha256``, ``index.json`` naming ``top``."""
    (directory / "blobs" / "sha256").mkdir(parents=True)
    (directory / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    for data in blobs:
        write_blob(directory, data)
    top = {**top, "annotations": {REF_NAME: tag}}
    (directory / "index.json").write_bytes(canonical({"schemaVersion": 2, "manifests": [top]}))


def image_layout(directory: Path, tag: str, image: Image) -> None:
    write_oci_layout(directory, tag, image.descriptor(), [image.manifest, *image.blobs.values()])


def read_layout(directory: Path, tag: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The descriptor tagged ``tag`` in a layout skopeo wrote, and its blobs (each checked against its name)."""
    index = json.loads((directory / "index.json").read_text())
    [top] = [d for d in index["manifests"] if d.get("annotations", {}).get(REF_NAME) == tag]
    blobs = {}
    for path in (directory / "blobs" / "sha256").iterdir():
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == path.name
        blobs[f"sha256:{path.name}"] = data
    return top, blobs


def stored_file(server: WharfServer, digest: str) -> Path:
    """Where the server keeps a blob's bytes (keys are per upload: look the key up in the row)."""
    return server.blob_dir / Blob.objects.get(digest=digest).storage_key


def big_layer(seed: str) -> bytes:
    """A gzipped layer of a few MiB (incompressible), so skopeo's chunked uploads carry real data."""
    return layer_tar({"data.bin": random.Random(seed).randbytes(3 << 20), "seed.txt": seed.encode()})


def test_skopeo_pushes_an_oci_image_and_pulls_it_back_unchanged(
    wharf_server: WharfServer, skopeo: str, tmp_path: Path
) -> None:
    image = make_image(
        labels={"org.opencontainers.image.title": "app", "com.example.tier": "web"},
        layers=[big_layer("one"), layer_tar({"etc/motd": b"hi\n"})],
    )
    image_layout(tmp_path / "in", "v1", image)
    ref = f"docker://{wharf_server.host}/acme/app:v1"

    run_skopeo(skopeo, "copy", "--dest-tls-verify=false", f"oci:{tmp_path / 'in'}:v1", ref)

    assert run_skopeo(skopeo, "inspect", "--raw", "--tls-verify=false", ref) == image.manifest
    inspected = json.loads(run_skopeo(skopeo, "inspect", "--tls-verify=false", ref))
    assert inspected["Digest"] == image.digest
    assert inspected["Labels"] == {"org.opencontainers.image.title": "app", "com.example.tier": "web"}
    manifest = Manifest.objects.get(package__name="acme/app", digest=image.digest)
    assert (manifest.media_type, bytes(manifest.content)) == (OCI_MANIFEST, image.manifest)
    assert Tag.objects.get(package__name="acme/app", name="v1").manifest == manifest
    for digest, data in image.blobs.items():
        assert Blob.objects.get(digest=digest).size == len(data)
        assert stored_file(wharf_server, digest).read_bytes() == data

    run_skopeo(skopeo, "copy", "--src-tls-verify=false", ref, f"oci:{tmp_path / 'out'}:v1")
    top, blobs = read_layout(tmp_path / "out", "v1")
    assert (top["digest"], top["mediaType"]) == (image.digest, OCI_MANIFEST)
    assert blobs == {image.digest: image.manifest, **image.blobs}


def test_skopeo_copies_a_two_platform_index_byte_for_byte(
    wharf_server: WharfServer, skopeo: str, tmp_path: Path
) -> None:
    amd64 = make_image(arch="amd64", labels={"arch": "amd64"}, layers=[big_layer("amd64")])
    arm64 = make_image(arch="arm64", labels={"arch": "arm64"}, layers=[big_layer("arm64")])
    index = canonical(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                amd64.descriptor({"architecture": "amd64", "os": "linux"}),
                arm64.descriptor({"architecture": "arm64", "os": "linux"}),
            ],
            "annotations": {"org.opencontainers.image.version": "2.0", "com.example.note": "two platforms"},
        }
    )
    blobs = [index, amd64.manifest, arm64.manifest, *amd64.blobs.values(), *arm64.blobs.values()]
    top = {"mediaType": OCI_INDEX, "digest": sha256(index), "size": len(index)}
    write_oci_layout(tmp_path / "in", "2.0", top, blobs)
    ref = f"docker://{wharf_server.host}/acme/multi:2.0"

    run_skopeo(skopeo, "copy", "--all", "--dest-tls-verify=false", f"oci:{tmp_path / 'in'}:2.0", ref)

    assert run_skopeo(skopeo, "inspect", "--raw", "--tls-verify=false", ref) == index
    for image in (amd64, arm64):
        by_digest = f"docker://{wharf_server.host}/acme/multi@{image.digest}"
        assert run_skopeo(skopeo, "inspect", "--raw", "--tls-verify=false", by_digest) == image.manifest
    stored = Manifest.objects.get(package__name="acme/multi", digest=sha256(index))
    assert stored.media_type == OCI_INDEX
    assert stored.annotations == {"org.opencontainers.image.version": "2.0", "com.example.note": "two platforms"}
    assert {m.digest for m in stored.children.all()} == {amd64.digest, arm64.digest}

    out = tmp_path / "arm"
    run_skopeo(skopeo, "--override-arch", "arm64", "copy", "--src-tls-verify=false", ref, f"oci:{out}:arm")
    top_out, blobs_out = read_layout(out, "arm")
    assert top_out["digest"] == arm64.digest
    assert blobs_out == {arm64.digest: arm64.manifest, **arm64.blobs}

    run_skopeo(skopeo, "copy", "--all", "--src-tls-verify=false", ref, f"oci:{tmp_path / 'all'}:2.0")
    top_all, blobs_all = read_layout(tmp_path / "all", "2.0")
    assert top_all["digest"] == sha256(index)
    assert blobs_all == {sha256(b): b for b in blobs}


def test_skopeo_keeps_a_docker_schema_2_image_as_it_is(wharf_server: WharfServer, skopeo: str, tmp_path: Path) -> None:
    image = make_image(docker=True, labels={"maintainer": "acme"}, layers=[big_layer("docker")])
    source = tmp_path / "dir"  # skopeo's dir: transport keeps the manifest bytes and media types as they are
    source.mkdir()
    (source / "version").write_text("Directory Transport Version: 1.1\n")
    (source / "manifest.json").write_bytes(image.manifest)
    for digest, data in image.blobs.items():
        (source / digest.removeprefix("sha256:")).write_bytes(data)
    ref = f"docker://{wharf_server.host}/acme/classic:1"

    run_skopeo(skopeo, "copy", "--dest-tls-verify=false", f"dir:{source}", ref)

    assert run_skopeo(skopeo, "inspect", "--raw", "--tls-verify=false", ref) == image.manifest
    assert Manifest.objects.get(package__name="acme/classic", digest=image.digest).media_type == DOCKER_MANIFEST
    out = tmp_path / "back"
    run_skopeo(skopeo, "copy", "--src-tls-verify=false", ref, f"dir:{out}")
    assert (out / "manifest.json").read_bytes() == image.manifest
    for digest, data in image.blobs.items():
        assert (out / digest.removeprefix("sha256:")).read_bytes() == data
