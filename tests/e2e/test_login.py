"""Logging in to a closed Wharf with real clients: personal access tokens for ``docker login`` and
skopeo, private packages that anonymous callers and outsiders cannot tell from missing ones, scopes
that bound what a token may do, and revoked tokens and expired registry tokens refused."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from packages_app.models import Package, Tag
from tests.conftest import basic, make_pat
from tests.e2e.conftest import DOCKER, DockerEngine, Response, WharfServer
from tests.oci import Image, canonical, layer_tar, make_image, sha256
from tokens_app.models import PersonalAccessToken

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"  # the fixtures' account password (tests/conftest.py)
REF_NAME = "org.opencontainers.image.ref.name"


# --- docker ---------------------------------------------------------------------------------------


def docker_attempt(docker: DockerEngine, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the engine's client and return what happened, success or not."""
    return subprocess.run([DOCKER, *args], env=docker.env, input=stdin, capture_output=True, text=True, timeout=120)


def docker_login(
    docker: DockerEngine, server: WharfServer, username: str, secret: str
) -> subprocess.CompletedProcess[str]:
    return docker_attempt(docker, "login", server.host, "-u", username, "--password-stdin", stdin=secret)


def build_small_image(docker: DockerEngine, directory: Path, ref: str) -> str:
    """A ``FROM scratch`` image with one file and a label (legacy builder); returns its image ID."""
    directory.mkdir()
    (directory / "hello.txt").write_text(f"hello from {ref}\n")
    (directory / "Dockerfile").write_text('FROM scratch\nCOPY hello.txt /\nLABEL com.example.test="login"\n')
    docker.run("build", "-q", "-t", ref, str(directory))
    return docker.run("image", "inspect", "--format", "{{.Id}}", ref).strip()


def refusal(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0, f"expected a refusal, got success:\n{done.stdout}"
    message = (done.stdout + done.stderr).strip()
    print(f"docker {' '.join(done.args[1:3])} refused:\n{message}")
    return message


def test_docker_logs_in_with_a_token_pushes_a_private_package_that_only_turns_pullable_when_public(
    wharf_server_closed: WharfServer, docker_engine: DockerEngine, owner: Any, tmp_path: Path
) -> None:
    server = wharf_server_closed
    ref = f"{server.host}/acme/private:v1"
    pat = make_pat(owner, "write:packages")
    built = build_small_image(docker_engine, tmp_path / "ctx", ref)
    try:
        login = docker_login(docker_engine, server, "alice", pat)
        assert login.returncode == 0, login.stderr
        assert "Login Succeeded" in login.stdout

        docker_engine.run("push", ref)

        package = Package.objects.get(name="acme/private")
        assert (package.visibility, package.created_by) == ("private", owner)
        assert Tag.objects.filter(package=package, name="v1").exists()
    finally:
        docker_engine.run("logout", server.host)
    docker_engine.run("rmi", "-f", built)

    message = refusal(docker_attempt(docker_engine, "pull", ref))
    assert any(word in message.lower() for word in ("unauthorized", "denied", "not found")), message
    missing = refusal(docker_attempt(docker_engine, "pull", f"{server.host}/acme/nothing:v1"))
    assert message.replace("acme/private", "acme/nothing") == missing  # private looks missing

    Package.objects.filter(name="acme/private").update(visibility="public")
    docker_engine.run("pull", ref)
    assert docker_engine.run("image", "inspect", "--format", "{{.Id}}", ref).strip() == built
    docker_engine.run("rmi", "-f", built)


def test_docker_push_with_a_read_only_token_names_the_missing_scope(
    wharf_server_closed: WharfServer, docker_engine: DockerEngine, owner: Any, tmp_path: Path
) -> None:
    server = wharf_server_closed
    repo = f"{server.host}/acme/readonly"
    built = build_small_image(docker_engine, tmp_path / "ctx", f"{repo}:v1")
    docker_engine.run("tag", f"{repo}:v1", f"{repo}:v2")
    try:
        assert docker_login(docker_engine, server, "alice", make_pat(owner, "write:packages")).returncode == 0
        docker_engine.run("push", f"{repo}:v1")

        login = docker_login(docker_engine, server, "alice", make_pat(owner, "read:packages"))
        assert login.returncode == 0, login.stderr
        message = refusal(docker_attempt(docker_engine, "push", f"{repo}:v2"))
    finally:
        docker_engine.run("logout", server.host)
        docker_engine.run("rmi", "-f", built)

    assert "denied" in message, message
    assert "write:packages" in message, message
    assert list(Tag.objects.filter(package__name="acme/readonly").values_list("name", flat=True)) == ["v1"]


def test_docker_login_with_the_account_password_is_refused(
    wharf_server_closed: WharfServer, docker_engine: DockerEngine, owner: Any
) -> None:
    done = docker_login(docker_engine, wharf_server_closed, "alice", PASSWORD)
    message = refusal(done)
    assert "personal access token" in message, message
    config = docker_engine.root / "cli" / "config.json"
    saved = json.loads(config.read_text()) if config.exists() else {}
    assert wharf_server_closed.host not in saved.get("auths", {})


# --- skopeo ---------------------------------------------------------------------------------------


def skopeo_attempt(skopeo: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([skopeo, "--insecure-policy", *args], capture_output=True, timeout=120)


def skopeo_ok(skopeo: str, *args: str) -> bytes:
    done = skopeo_attempt(skopeo, *args)
    assert done.returncode == 0, f"skopeo {' '.join(args)} failed:\n{done.stderr.decode()}"
    return done.stdout


def skopeo_refusal(skopeo: str, *args: str) -> str:
    done = skopeo_attempt(skopeo, *args)
    assert done.returncode != 0, f"skopeo {' '.join(args)} succeeded:\n{done.stdout!r}"
    message = done.stderr.decode().strip()
    print(f"skopeo {args[0]} {args[-1]} refused:\n{message}")
    return re.sub(r'^time="[^"]*" ', "", message)  # the log line's timestamp is not part of the answer


def oci_layout(directory: Path, tag: str, image: Image) -> str:
    """An OCI image layout holding ``image`` as ``tag``; returns skopeo's source reference."""
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    (directory / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    for data in [image.manifest, *image.blobs.values()]:
        (blobs / sha256(data).removeprefix("sha256:")).write_bytes(data)
    top = {**image.descriptor(), "annotations": {REF_NAME: tag}}
    (directory / "index.json").write_bytes(canonical({"schemaVersion": 2, "manifests": [top]}))
    return f"oci:{directory}:{tag}"


def small_image(seed: str) -> Image:
    return make_image(labels={"com.example.seed": seed}, layers=[layer_tar({"seed.txt": seed.encode()})])


def test_skopeo_pushes_with_a_token_and_outsiders_see_the_private_package_as_missing(
    wharf_server_closed: WharfServer, skopeo: str, owner: Any, outsider: Any, tmp_path: Path
) -> None:
    server = wharf_server_closed
    image = small_image("tool")
    alice, eve = f"alice:{make_pat(owner, 'write:packages')}", f"eve:{make_pat(outsider, 'read:packages')}"
    ref = f"docker://{server.host}/acme/tool:v1"

    skopeo_ok(
        skopeo, "copy", "--dest-tls-verify=false", "--dest-creds", alice, oci_layout(tmp_path / "in", "v1", image), ref
    )
    assert Package.objects.get(name="acme/tool").created_by == owner
    assert skopeo_ok(skopeo, "inspect", "--raw", "--tls-verify=false", "--creds", alice, ref) == image.manifest

    hidden = skopeo_refusal(skopeo, "inspect", "--raw", "--tls-verify=false", "--creds", eve, ref)
    missing_ref = f"docker://{server.host}/acme/does-not-exist:v1"
    missing = skopeo_refusal(skopeo, "inspect", "--raw", "--tls-verify=false", "--creds", eve, missing_ref)
    assert hidden.replace("acme/tool", "acme/does-not-exist") == missing
    assert "unknown" in missing.lower() or "not found" in missing.lower(), missing

    anonymous = skopeo_refusal(skopeo, "inspect", "--raw", "--tls-verify=false", "--no-creds", ref)
    assert "unauthorized" in anonymous.lower() or "authentication required" in anonymous.lower(), anonymous

    Package.objects.filter(name="acme/tool").update(visibility="public")
    assert skopeo_ok(skopeo, "inspect", "--raw", "--tls-verify=false", "--no-creds", ref) == image.manifest


# --- revoked and expired tokens -------------------------------------------------------------------


def test_skopeo_is_refused_with_a_revoked_token_and_told_so(
    wharf_server_closed: WharfServer, skopeo: str, owner: Any, tmp_path: Path
) -> None:
    image = small_image("revoked")
    creds = f"alice:{make_pat(owner, 'write:packages')}"
    ref = f"docker://{wharf_server_closed.host}/acme/revoked:v1"
    skopeo_ok(
        skopeo, "copy", "--dest-tls-verify=false", "--dest-creds", creds, oci_layout(tmp_path / "in", "v1", image), ref
    )

    PersonalAccessToken.objects.filter(user=owner).update(revoked_at=timezone.now())

    message = skopeo_refusal(skopeo, "inspect", "--raw", "--tls-verify=false", "--creds", creds, ref)
    assert "revoked" in message, message


def push_with_basic(server: WharfServer, name: str, tag: str, image: Image, authorization: str) -> None:
    """Push ``image`` over plain HTTP with Basic credentials sent straight to ``/v2/``."""
    for digest, data in image.blobs.items():
        answer = server.request(
            "POST", f"/v2/{name}/blobs/uploads/?digest={digest}", data, {"Authorization": authorization}
        )
        assert answer.status == 201, answer.body
    headers = {"Authorization": authorization, "Content-Type": image.media_type}
    answer = server.request("PUT", f"/v2/{name}/manifests/{tag}", image.manifest, headers)
    assert answer.status == 201, answer.body


def errors(response: Response) -> list[dict[str, Any]]:
    return list(json.loads(response.body)["errors"])


@pytest.mark.parametrize("wharf_server_closed", [{"WHARF_REGISTRY_TOKEN_SECONDS": "3"}], indirect=True)
def test_a_registry_token_outlives_its_revoked_personal_token_until_it_expires(
    wharf_server_closed: WharfServer, owner: Any
) -> None:
    server = wharf_server_closed
    pat = make_pat(owner, "write:packages")
    image = small_image("expiry")
    push_with_basic(server, "acme/expiry", "v1", image, basic("alice", pat))

    issued = server.request(
        "GET",
        f"/token?service={server.host}&scope=repository:acme/expiry:pull",
        headers={"Authorization": basic("alice", pat)},
    )
    assert issued.status == 200, issued.body
    body = json.loads(issued.body)
    assert body["expires_in"] == 3
    payload = body["token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    bearer = {"Authorization": f"Bearer {body['token']}", "Accept": image.media_type}

    PersonalAccessToken.objects.filter(user=owner).update(revoked_at=timezone.now())

    with_pat = server.request("GET", "/v2/acme/expiry/manifests/v1", headers={"Authorization": basic("alice", pat)})
    assert with_pat.status == 401
    assert "revoked" in errors(with_pat)[0]["message"]
    assert time.time() < claims["exp"], "too slow: the registry token expired before it could be used"
    pulled = server.request("GET", "/v2/acme/expiry/manifests/v1", headers=bearer)
    assert (pulled.status, pulled.body) == (200, image.manifest)

    time.sleep(max(0.0, claims["exp"] - time.time()) + 1.0)

    expired = server.request("GET", "/v2/acme/expiry/manifests/v1", headers=bearer)
    assert expired.status == 401
    [error] = errors(expired)
    assert error["code"] == "UNAUTHORIZED", error
    assert "expired" in error["message"], error
    assert expired.headers["WWW-Authenticate"].startswith(f'Bearer realm="http://{server.host}/token"')
