"""A repository's automation token (the GITHUB_TOKEN analogue) with the real Docker CLI: ``docker login``
with it, push a new image into the repository owner's namespace, and the package appears linked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from packages_app.models import Package
from repositories.services import repository_create
from tests.e2e.conftest import DockerEngine, WharfServer
from tests.e2e.test_docker import build_context, pushed_digest
from tokens_app.automation import automation_token_issue

pytestmark = pytest.mark.e2e


def test_an_automation_token_pushes_a_new_image_with_docker_and_links_it(
    wharf_server_closed: WharfServer, docker_engine: DockerEngine, owner: Any, tmp_path: Path
) -> None:
    repository = repository_create(owner="acme", name="api", user=owner)
    token = automation_token_issue(repository=repository, user=owner).plaintext
    host = wharf_server_closed.host
    ref = f"{host}/acme/api-server:v1"
    docker_engine.run("build", "-q", "-t", ref, str(build_context(tmp_path / "ctx", "automation", {"a": "b"})))

    docker_engine.run("login", host, "-u", "acme", "-p", token)
    digest = pushed_digest(docker_engine.run("push", ref))

    package = Package.objects.get(name="acme/api-server")
    assert package.repository == repository
    assert package.manifests.get().digest == digest
    docker_engine.run("image", "rm", ref)
    docker_engine.run("pull", ref)
    docker_engine.run("logout", host)
