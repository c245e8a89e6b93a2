"""An immutable tag meets a real ``docker push``: the push that would move it fails, and docker's own
output names the rule."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from accounts.services import organization_create
from packages_app import tag_rules
from packages_app.models import Tag
from tests.e2e.conftest import DOCKER, DockerEngine, WharfServer
from tests.e2e.test_docker import build_context, pushed_digest

pytestmark = pytest.mark.e2e


def test_docker_push_over_an_immutable_tag_fails_naming_the_rule(
    wharf_server: WharfServer, docker_engine: DockerEngine, tmp_path: Path
) -> None:
    alice = get_user_model().objects.create_user("alice", "alice@example.com", "correct horse battery")
    organization_create(name="acme", owner=alice)
    tag_rules.tag_rule_create(user=alice, namespace="acme", pattern="v*", kind="immutable")
    repo = f"{wharf_server.host}/acme/app"
    docker_engine.run("build", "-q", "-t", f"{repo}:v1", str(build_context(tmp_path / "one", "one", {"n": "1"})))
    first = pushed_digest(docker_engine.run("push", f"{repo}:v1"))

    docker_engine.run("build", "-q", "-t", f"{repo}:v1", str(build_context(tmp_path / "two", "two", {"n": "2"})))
    refused = subprocess.run(
        [DOCKER, "push", f"{repo}:v1"], env=docker_engine.env, capture_output=True, text=True, timeout=120
    )

    assert refused.returncode != 0
    output = refused.stdout + refused.stderr
    assert "denied: tag v1 is immutable (immutable tag rule “v*” of organization acme): it cannot be moved" in output
    assert Tag.objects.get(package__name="acme/app", name="v1").manifest.digest == first
    docker_engine.run("tag", f"{repo}:v1", f"{repo}:next")
    assert pushed_digest(docker_engine.run("push", f"{repo}:next")) != first  # another tag takes it
