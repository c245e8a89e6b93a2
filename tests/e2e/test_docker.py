"""The Docker CLI and engine against a real Wharf: build, push (chunked PATCH without Content-Length),
pull by tag and by digest, and a two-platform manifest list made with ``docker manifest``."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from packages_app.models import Blob, Manifest, Tag
from tests.e2e.conftest import DockerEngine, WharfServer
from tests.oci import DOCKER_LIST, DOCKER_MANIFEST

pytestmark = pytest.mark.e2e


def build_context(directory: Path, seed: str, labels: dict[str, str]) -> Path:
    """A ``FROM scratch`` image with two files and labels: builds offline."""
    directory.mkdir()
    (directory / "hello.txt").write_text(f"hello from {seed}\n")
    (directory / "payload.bin").write_bytes(random.Random(seed).randbytes(4 << 20))
    label_args = " ".join(f"{key}={json.dumps(value)}" for key, value in labels.items())
    (directory / "Dockerfile").write_text(f"FROM scratch\nCOPY hello.txt payload.bin /\nLABEL {label_args}\n")
    return directory


def image_id(docker: DockerEngine, ref: str) -> str:
    return docker.run("image", "inspect", "--format", "{{.Id}}", ref).strip()


def image_info(docker: DockerEngine, ref: str) -> dict[str, object]:
    [info] = json.loads(docker.run("image", "inspect", ref))
    assert isinstance(info, dict)
    return info


def pushed_digest(output: str) -> str:
    match = re.search(r"digest: (sha256:[0-9a-f]{64}) size: \d+", output)
    assert match, output
    return match.group(1)


def test_docker_pushes_an_image_and_pulls_it_back_by_tag_and_by_digest(
    wharf_server: WharfServer, docker_engine: DockerEngine, tmp_path: Path
) -> None:
    repo = f"{wharf_server.host}/acme/hello"
    labels = {"org.opencontainers.image.title": "hello", "com.example.built-by": "e2e test"}
    docker_engine.run("build", "-q", "-t", f"{repo}:v1", str(build_context(tmp_path / "ctx", "v1", labels)))
    built = image_id(docker_engine, f"{repo}:v1")

    digest = pushed_digest(docker_engine.run("push", f"{repo}:v1"))

    repo_digests = image_info(docker_engine, f"{repo}:v1")["RepoDigests"]
    assert repo_digests == [f"{repo}@{digest}"]
    manifest = Manifest.objects.get(package__name="acme/hello", digest=digest)
    assert manifest.media_type == DOCKER_MANIFEST
    assert manifest.config_digest == built  # the image ID is its config's digest
    assert Tag.objects.get(package__name="acme/hello", name="v1").manifest == manifest
    assert {b.digest for b in manifest.blobs.all()} <= set(Blob.objects.values_list("digest", flat=True))
    assert re.search(r'"PATCH /v2/acme/hello/blobs/uploads/[0-9a-f-]+ HTTP/1.1" 202', wharf_server.log.read_text())

    docker_engine.run("rmi", "-f", built)
    docker_engine.run("pull", f"{repo}:v1")
    assert image_id(docker_engine, f"{repo}:v1") == built
    assert image_info(docker_engine, f"{repo}:v1")["Config"]["Labels"] == labels  # type: ignore[index]

    docker_engine.run("rmi", "-f", built)
    docker_engine.run("pull", f"{repo}@{digest}")
    assert image_id(docker_engine, f"{repo}@{digest}") == built
    docker_engine.run("rmi", "-f", built)


def test_docker_manifest_pushes_a_two_platform_list_and_pull_picks_the_platform(
    wharf_server: WharfServer, docker_engine: DockerEngine, tmp_path: Path
) -> None:
    repo = f"{wharf_server.host}/acme/multi"
    amd64_ctx = build_context(tmp_path / "amd64", "amd64", {"arch": "amd64"})
    arm64_ctx = build_context(tmp_path / "arm64", "arm64", {"arch": "arm64"})
    docker_engine.run("build", "-q", "-t", f"{repo}:amd64", str(amd64_ctx))
    docker_engine.run(
        "build", "-q", "--platform", "linux/arm64", "-t", f"{repo}:arm64", str(arm64_ctx), env={"DOCKER_BUILDKIT": "1"}
    )
    ids = {arch: image_id(docker_engine, f"{repo}:{arch}") for arch in ("amd64", "arm64")}
    assert image_info(docker_engine, f"{repo}:arm64")["Architecture"] == "arm64"
    digests = {arch: pushed_digest(docker_engine.run("push", f"{repo}:{arch}")) for arch in ("amd64", "arm64")}

    docker_engine.run("manifest", "create", "--insecure", f"{repo}:latest", f"{repo}:amd64", f"{repo}:arm64")
    list_digest = pushed_digest_of_list(
        docker_engine.run("manifest", "push", "--purge", "--insecure", f"{repo}:latest")
    )

    listed = Tag.objects.get(package__name="acme/multi", name="latest").manifest
    assert (listed.digest, listed.media_type) == (list_digest, DOCKER_LIST)
    assert {m.digest for m in listed.children.all()} == set(digests.values())
    platforms = {m["platform"]["architecture"]: m["digest"] for m in json.loads(bytes(listed.content))["manifests"]}
    assert platforms == digests

    docker_engine.run("rmi", "-f", *ids.values())
    docker_engine.run("pull", "--platform", "linux/arm64", f"{repo}:latest")
    pulled = image_info(docker_engine, f"{repo}:latest")
    assert (pulled["Id"], pulled["Architecture"]) == (ids["arm64"], "arm64")
    assert pulled["Config"]["Labels"] == {"arch": "arm64"}  # type: ignore[index]
    docker_engine.run("rmi", "-f", ids["arm64"])


def pushed_digest_of_list(output: str) -> str:
    """``docker manifest push`` prints just the list's digest."""
    match = re.fullmatch(r"\s*(sha256:[0-9a-f]{64})\s*", output)
    assert match, output
    return match.group(1)
