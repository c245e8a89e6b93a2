"""Token-auth clients against a closed Wharf: oras-py's default (token) auth pushes a new package with
the first token it gets, docker mounts a layer across repositories with a token that names both, and a
docker push into a namespace the caller cannot write fails at once with the reason."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from typing import Any

import oras.provider
import pytest

from packages_app.models import Blob, Manifest, Package, PackageBlob, Tag
from tests.conftest import make_pat
from tests.e2e.conftest import DockerEngine, WharfServer
from tests.e2e.test_login import build_small_image, docker_attempt, docker_login, refusal

pytestmark = pytest.mark.e2e


def test_oras_py_default_token_auth_pushes_a_new_package_and_pulls_it_back(
    wharf_server_closed: WharfServer, owner: Any, tmp_path: Path
) -> None:
    server = wharf_server_closed
    artifact = tmp_path / "notes.txt"
    artifact.write_text("pushed by oras-py\n")
    # oras.client.OrasClient is this class; its auth_backend "token" is the default
    client = oras.provider.Registry(hostname=server.host, insecure=True)
    client.login(
        username="alice",
        password=make_pat(owner, "write:packages"),
        hostname=server.host,
        config_path=str(tmp_path / "config.json"),
    )

    response = client.push(files=[str(artifact)], target=f"{server.host}/alice/notes:v1", disable_path_validation=True)

    assert response.status_code == 201, response.text
    package = Package.objects.get(name="alice/notes")
    assert (package.visibility, package.created_by) == ("private", owner)
    assert Tag.objects.filter(package=package, name="v1").exists()
    pulled = client.pull(target=f"{server.host}/alice/notes:v1", outdir=str(tmp_path / "out"))
    assert [Path(p).read_text() for p in pulled] == ["pushed by oras-py\n"]


def test_docker_mounts_a_layer_across_repositories_with_token_auth(
    wharf_server_closed: WharfServer, docker_engine: DockerEngine, owner: Any, tmp_path: Path
) -> None:
    server = wharf_server_closed
    first, second = f"{server.host}/alice/first:v1", f"{server.host}/alice/second:v1"
    built = build_small_image(docker_engine, tmp_path / "ctx", first)
    docker_engine.run("tag", first, second)
    try:
        assert docker_login(docker_engine, server, "alice", make_pat(owner, "write:packages")).returncode == 0
        docker_engine.run("push", first)
        docker_engine.run("push", second)
    finally:
        docker_engine.run("logout", server.host)
        docker_engine.run("rmi", "-f", built)

    mounts = re.findall(
        r'"POST /v2/alice/second/blobs/uploads/\?from=alice%2Ffirst&mount=sha256%3A([0-9a-f]{64}) HTTP/1.1" (\d+)',
        server.log.read_text(),
    )
    mounts = [(f"sha256:{digest}", status) for digest, status in mounts]
    assert mounts, server.log_tail()
    assert all(status == "201" for _, status in mounts), server.log_tail()
    layers = Manifest.objects.get(package__name="alice/second").blobs.all()
    assert {b.digest for b in layers} >= {digest for digest, _ in mounts}
    for digest, _ in mounts:
        assert PackageBlob.objects.filter(package__name="alice/second", blob=Blob.objects.get(digest=digest)).exists()


def test_docker_push_into_a_namespace_the_caller_cannot_write_fails_at_once_with_the_reason(
    wharf_server_closed: WharfServer, docker_engine: DockerEngine, outsider: Any, tmp_path: Path
) -> None:
    server = wharf_server_closed
    ref = f"{server.host}/nosuchorg/app:v1"
    built = build_small_image(docker_engine, tmp_path / "ctx", ref)
    try:
        assert docker_login(docker_engine, server, "eve", make_pat(outsider, "write:packages")).returncode == 0
        started = time.monotonic()
        done: subprocess.CompletedProcess[str] = docker_attempt(docker_engine, "push", ref)
        elapsed = time.monotonic() - started
    finally:
        docker_engine.run("logout", server.host)
        docker_engine.run("rmi", "-f", built)

    message = refusal(done)
    assert "denied: you cannot create packages in nosuchorg" in message, message
    assert elapsed < 15, f"docker retried for {elapsed:.0f}s before giving up"  # a bare "denied" took ~50 s
    assert not Package.objects.filter(name="nosuchorg/app").exists()
