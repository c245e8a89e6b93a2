"""Keyless CI login and fine-grained tokens with the real Docker CLI against a running Wharf.

A CI job's OIDC token (signed by the test's issuer, whose JWKS the server fetches over HTTP on loopback)
is exchanged at ``POST /ci/token``; ``docker login`` with the credential pushes to the bound repository's
package and is refused elsewhere. A package-limited personal access token pulls its package and is
answered elsewhere as for a package that does not exist.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from accounts.models import Organization
from federation import services as federation
from packages_app.models import AuditEvent, Package
from packages_app.services.packages import package_for_write
from repositories.services import repository_create
from tests.conftest import basic as _basic
from tests.e2e.conftest import DOCKER, DockerEngine, WharfServer
from tests.e2e.test_docker import build_context, pushed_digest
from tests.federation.issuer import AUDIENCE, CIIssuer
from tests.federation.issuer import ci_issuer as ci_issuer  # the fixture
from tokens_app.services import token_create

pytestmark = pytest.mark.e2e
RULE = 'repository == "acme/api" and ref == "refs/heads/main"'


def docker_may_fail(engine: DockerEngine, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DOCKER, *args], env=engine.env, capture_output=True, text=True, timeout=120)


def _exchange(server: WharfServer, token: str) -> dict[str, Any]:
    body = urlencode({"organization": "acme", "token": token}).encode()
    answer = server.request("POST", "/ci/token", body, {"Content-Type": "application/x-www-form-urlencoded"})
    return {"status": answer.status, **json.loads(answer.body)}


def test_a_ci_job_logs_in_with_its_oidc_token_and_pushes_only_to_its_repository(
    wharf_server_closed: WharfServer, docker_engine: DockerEngine, owner: Any, ci_issuer: CIIssuer, tmp_path: Path
) -> None:
    repository = repository_create(owner="acme", name="api", user=owner)
    package_for_write(name="acme/other", user=owner)
    federation.issuer_register(
        organization=Organization.objects.get(name="acme"), user=owner, name="actions", issuer=ci_issuer.url,
        audience=AUDIENCE, rule=RULE, role=2, repository="api",
    )  # fmt: skip
    host = wharf_server_closed.host
    refused = _exchange(wharf_server_closed, ci_issuer.sign(ref="refs/heads/feature"))
    assert refused["status"] == 401
    assert 'ref == "refs/heads/main" is not true' in refused["message"]
    credential = _exchange(wharf_server_closed, ci_issuer.sign())
    assert credential["status"] == 200, credential

    docker_engine.run("login", host, "-u", credential["username"], "-p", credential["token"])
    context = str(build_context(tmp_path / "ctx", "ci-login", {"a": "b"}))
    docker_engine.run("build", "-q", "-t", f"{host}/acme/api-server:v1", context)
    digest = pushed_digest(docker_engine.run("push", f"{host}/acme/api-server:v1"))
    package = Package.objects.get(name="acme/api-server")
    assert package.repository == repository
    assert package.manifests.get().digest == digest

    # One refused push is enough: docker 20.10 retries a 403 four times, with 50 s of back-off.
    docker_engine.run("tag", f"{host}/acme/api-server:v1", f"{host}/acme/other:v1")
    pushed = docker_may_fail(docker_engine, "push", f"{host}/acme/other:v1")
    assert pushed.returncode != 0, pushed
    assert "denied" in pushed.stderr.lower(), pushed
    assert not Package.objects.get(name="acme/other").manifests.exists()
    elsewhere = wharf_server_closed.request(
        "POST", "/v2/beta/api-server/blobs/uploads/", headers={"Authorization": _basic("ci", credential["token"])}
    )
    assert elsewhere.status == 403
    assert json.loads(elsewhere.body)["errors"][0]["code"] == "DENIED"
    assert not Package.objects.filter(name="beta/api-server").exists()
    audited = list(AuditEvent.objects.filter(namespace="acme").values_list("action", "actor"))
    actor = "CI acme/actions (repo:acme/api:ref:refs/heads/main)"
    assert ("ci.refused", "CI job (unverified)") in audited
    assert ("ci.login", actor) in audited
    assert ("push", actor) in audited
    docker_engine.run("logout", host)


def test_a_package_limited_token_pulls_its_package_and_finds_nothing_elsewhere(
    wharf_server_closed: WharfServer, docker_engine: DockerEngine, owner: Any, tmp_path: Path
) -> None:
    host = wharf_server_closed.host
    full = token_create(user=owner, note="full", scopes=["write:packages"], expires_at=None).plaintext
    docker_engine.run("login", host, "-u", "alice", "-p", full)
    docker_engine.run("build", "-q", "-t", "limited-src:v1", str(build_context(tmp_path / "ctx", "pat", {"a": "b"})))
    for name in ("acme/app", "acme/secret"):
        docker_engine.run("tag", "limited-src:v1", f"{host}/{name}:v1")
        docker_engine.run("push", f"{host}/{name}:v1")
        docker_engine.run("image", "rm", f"{host}/{name}:v1")

    limited = token_create(user=owner, note="app", scopes=["write:packages"], expires_at=None, packages=["acme/app"])
    docker_engine.run("login", host, "-u", "alice", "-p", limited.plaintext)
    docker_engine.run("pull", f"{host}/acme/app:v1")
    hidden = docker_may_fail(docker_engine, "pull", f"{host}/acme/secret:v1")
    missing = docker_may_fail(docker_engine, "pull", f"{host}/nobody/ghost:v1")
    assert hidden.returncode != 0
    assert missing.returncode != 0
    assert hidden.stderr.replace("acme/secret", "NAME") == missing.stderr.replace("nobody/ghost", "NAME")
    docker_engine.run("logout", host)
