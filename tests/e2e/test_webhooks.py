"""Webhooks end to end: a real gunicorn, a real Celery worker on Redis
(``WHARF_TEST_REDIS_URL``, a private queue), a real
Docker engine and a real HTTP listener on loopback (allowed by WHARF_WEBHOOK_ALLOWED_HOSTS).

A two-platform ``docker manifest push`` gives the listener exactly one signed ``package.published``,
naming the list, its tag and both platforms; deleting and restoring the version through the REST API
give one ``version.deleted`` and one ``version.restored``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from accounts.services import organization_create
from packages_app.models import Manifest, Tag
from tests.conftest import make_pat
from tests.e2e.conftest import DockerEngine, WharfServer
from tests.e2e.test_docker import build_context, pushed_digest, pushed_digest_of_list
from tests.e2e.test_storm import REDIS, redis_answers
from tests.e2e.workers import celery_worker, drop_queue
from tests.webhooks.listener import Listener, Received, listening

pytestmark = pytest.mark.e2e

SECRET = "e2e-hook-secret"
UNTAGGED_DELAY = 3


@pytest.fixture
def hooked_server(wharf_server: WharfServer) -> Iterator[WharfServer]:
    """The server and a Celery worker sharing a private Redis queue; webhooks may call 127.0.0.1."""
    if not redis_answers():
        pytest.skip("Redis does not answer on 127.0.0.1:6379 (TOOLS.md: redis-server)")
    queue = f"wharf-hooks-{uuid.uuid4().hex[:12]}"
    wharf_server.extra_env.update(
        {
            "CELERY_BROKER_URL": REDIS,
            "CELERY_RESULT_BACKEND": REDIS,
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "WHARF_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
            "WHARF_WEBHOOK_UNTAGGED_DELAY_SECONDS": str(UNTAGGED_DELAY),
            "WHARF_WEBHOOK_BACKOFF_SECONDS": "1",
        }
    )
    wharf_server.restart()
    try:
        with celery_worker(wharf_server.data_dir / "worker.log", wharf_server.env(), queue):
            yield wharf_server
    finally:
        drop_queue(REDIS, queue)


def wait_for(listener: Listener, event: str, count: int, timeout: float = 60) -> list[Received]:
    deadline = time.monotonic() + timeout
    while len(listener.events(event)) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return listener.events(event)


def api(server: WharfServer, method: str, path: str, token: str, body: dict[str, Any] | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return server.request(method, path, json.dumps(body).encode() if body is not None else None, headers)


def signed(received: Received) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), received.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, received.headers["x-wharf-signature-256"])


def push_platforms(docker: DockerEngine, source: str, tmp_path: Path) -> dict[str, str]:
    docker.run("build", "-q", "-t", f"{source}:amd64", str(build_context(tmp_path / "amd64", "hook-amd64", {"a": "1"})))
    arm64_ctx = build_context(tmp_path / "arm64", "hook-arm64", {"a": "2"})
    arm64 = ["build", "-q", "--platform", "linux/arm64", "-t", f"{source}:arm64", str(arm64_ctx)]
    docker.run(*arm64, env={"DOCKER_BUILDKIT": "1"})
    return {arch: pushed_digest(docker.run("push", f"{source}:{arch}")) for arch in ("amd64", "arm64")}


def test_a_two_platform_manifest_push_gives_one_signed_event_and_delete_and_restore_one_each(
    hooked_server: WharfServer, docker_engine: DockerEngine, tmp_path: Path
) -> None:
    alice = get_user_model().objects.create_user("alice", "alice@example.com", "correct horse battery")
    organization_create(name="acme", owner=alice)
    token = make_pat(alice, "read:packages", "write:packages", "delete:packages")
    # The platform images live in another namespace, so the hook on acme hears only the list's push
    # (docker copies them into acme/multi by digest, then pushes the list by tag).
    digests = push_platforms(docker_engine, f"{hooked_server.host}/other/src", tmp_path)
    with listening() as listener:
        events = ["package.published", "package.tag_updated", "version.deleted", "version.restored"]
        hook = {"url": listener.url, "secret": SECRET, "events": events}
        made = api(hooked_server, "POST", "/api/orgs/acme/hooks", token, hook)
        assert made.status == 201, made.body
        assert len(wait_for(listener, "ping", 1)) == 1

        repo, source = f"{hooked_server.host}/acme/multi", f"{hooked_server.host}/other/src"
        docker_engine.run("manifest", "create", "--insecure", f"{repo}:latest", f"{source}:amd64", f"{source}:arm64")
        pushed = docker_engine.run("manifest", "push", "--purge", "--insecure", f"{repo}:latest").splitlines()
        # From another repository, docker first copies the platform images here by digest.
        assert [line.startswith(f"Pushed ref {repo}@") for line in pushed] == [True, True, False], pushed
        list_digest = pushed_digest_of_list(pushed[-1])
        assert set(Manifest.objects.filter(package__name="acme/multi").values_list("digest", flat=True)) == {
            list_digest,
            *digests.values(),
        }

        [published] = wait_for(listener, "package.published", 1)
        time.sleep(UNTAGGED_DELAY + 3)  # the platform images' deferred announcements come due, and are dropped
        assert len(listener.events("package.published")) == 1
        assert signed(published)
        version = json.loads(published.body)["registry_package"]["package_version"]
        assert version["version"] == list_digest
        assert version["container_metadata"]["tags"] == ["latest"]
        platforms = {p["architecture"]: p["digest"] for p in version["container_metadata"]["manifest"]["platforms"]}
        assert platforms == digests

        version_id = Tag.objects.get(package__name="acme/multi", name="latest").manifest_id
        path = f"/api/orgs/acme/packages/container/multi/versions/{version_id}"
        assert api(hooked_server, "DELETE", path, token).status == 204
        [deleted] = wait_for(listener, "version.deleted", 1)
        assert api(hooked_server, "POST", f"{path}/restore", token).status == 204
        [restored] = wait_for(listener, "version.restored", 1)
        for received in (deleted, restored):
            assert signed(received)
            assert json.loads(received.body)["registry_package"]["package_version"]["version"] == list_digest
        time.sleep(1)
        kinds = [r.headers["x-wharf-event"] for r in listener.requests]
        assert kinds == ["ping", "package.published", "version.deleted", "version.restored"]
