"""A storage quota meets a real ``docker push`` (issue 12, point 6): a push within the quota works, the
push past it fails with the quota named in docker's own output and leaves nothing of its layer behind,
and once the quota is raised the same push goes through; usage is the distinct bytes throughout."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from packages_app import quotas
from packages_app.models import Blob, Manifest, StorageQuota, Upload
from tests.e2e.conftest import DOCKER, DockerEngine, WharfServer
from tests.e2e.test_docker import build_context, pushed_digest

pytestmark = pytest.mark.e2e
MiB = 1024**2


def distinct_bytes(namespace: str) -> int:
    blobs = {b.digest: b.size for m in Manifest.objects.filter(package__namespace=namespace) for b in m.blobs.all()}
    return sum(blobs.values())


def test_docker_push_past_the_quota_fails_naming_it_and_a_push_within_works(
    wharf_server: WharfServer, docker_engine: DockerEngine, tmp_path: Path
) -> None:
    StorageQuota.objects.create(namespace="acme", limit_bytes=6 * MiB)  # each image holds ~4 MiB of random bytes
    repo = f"{wharf_server.host}/acme/app"
    docker_engine.run("build", "-q", "-t", f"{repo}:v1", str(build_context(tmp_path / "one", "one", {"n": "1"})))
    pushed_digest(docker_engine.run("push", f"{repo}:v1"))  # within the quota
    used = quotas.usage_of("acme").used_bytes
    assert used == distinct_bytes("acme") > 4 * MiB

    docker_engine.run("build", "-q", "-t", f"{repo}:v2", str(build_context(tmp_path / "two", "two", {"n": "2"})))
    blobs_before = set(Blob.objects.values_list("digest", flat=True))
    refused = subprocess.run(
        [DOCKER, "push", f"{repo}:v2"], env=docker_engine.env, capture_output=True, text=True, timeout=180
    )

    assert refused.returncode != 0
    output = refused.stdout + refused.stderr
    assert f"denied: storage quota of acme exceeded: {quotas.human_bytes(used)} used of 6.0 MiB" in output, output
    assert set(Blob.objects.values_list("digest", flat=True)) == blobs_before  # no blob of the new layer
    assert not Upload.objects.exists()  # its session and bytes were discarded
    assert not Manifest.objects.filter(package__name="acme/app").exclude(tags__name="v1").exists()
    assert quotas.usage_of("acme").used_bytes == used

    StorageQuota.objects.filter(namespace="acme").update(limit_bytes=20 * MiB)
    pushed_digest(docker_engine.run("push", f"{repo}:v2"))
    usage = quotas.usage_of("acme").used_bytes
    assert usage == distinct_bytes("acme") > used + 4 * MiB
