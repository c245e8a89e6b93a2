"""Login and authorization on the registry, with three people: alice (owner of acme), bob (member
of acme) and eve (outsider)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from packages_app.models import Package, PackagePermission, Role, Visibility
from tests.conftest import basic, make_pat
from tests.oci import make_image, sha256
from tokens_app.models import PersonalAccessToken
from tokens_app.registry_tokens import verify

HOST = "registry.example"


def push_image(client: Client, name: str, auth: str, tag: str = "v1") -> Any:
    image = make_image(seed=name)
    for digest, data in image.blobs.items():
        response = client.post(
            f"/v2/{name}/blobs/uploads/?digest={digest}",
            data=data,
            content_type="application/octet-stream",
            HTTP_AUTHORIZATION=auth,
            HTTP_HOST=HOST,
        )
        if response.status_code != 201:
            return response
    return client.put(
        f"/v2/{name}/manifests/{tag}",
        data=image.manifest,
        content_type=image.media_type,
        HTTP_AUTHORIZATION=auth,
        HTTP_HOST=HOST,
    )


def bearer(client: Client, auth: str | None, *scopes: str) -> str:
    query = "&".join(f"scope={s}" for s in scopes)
    extra: dict[str, Any] = {"HTTP_AUTHORIZATION": auth} if auth else {}
    response = client.get(f"/token?service={HOST}&{query}", HTTP_HOST=HOST, **extra)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token"] == body["access_token"]
    return "Bearer " + str(body["token"])


@pytest.fixture
def app(client: Client, owner: Any) -> Package:
    """acme/app, pushed by alice: private."""
    response = push_image(client, "acme/app", basic("alice", make_pat(owner, "write:packages")))
    assert response.status_code == 201, response.content
    return Package.objects.get(name="acme/app")


def get_manifest(client: Client, auth: str | None, name: str = "acme/app") -> Any:
    extra: dict[str, Any] = {"HTTP_AUTHORIZATION": auth} if auth else {}
    return client.get(f"/v2/{name}/manifests/v1", HTTP_HOST=HOST, **extra)


def test_registry_tokens_outlast_an_upload_session(client: Client, owner: Any) -> None:
    response = client.get(f"/token?service={HOST}", HTTP_AUTHORIZATION=basic("alice", make_pat(owner)), HTTP_HOST=HOST)
    body = response.json()
    assert body["expires_in"] >= 600
    assert body["issued_at"].endswith("Z")
    assert response["Cache-Control"] == "no-store"


def test_the_first_push_creates_a_private_package_administered_by_its_publisher(app: Package, owner: Any) -> None:
    assert app.visibility == Visibility.PRIVATE
    assert app.created_by == owner


def test_anonymous_callers_are_challenged_with_the_repository_scope(client: Client, app: Package) -> None:
    response = get_manifest(client, None)
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert response["WWW-Authenticate"] == (
        f'Bearer realm="http://{HOST}/token",service="{HOST}",scope="repository:acme/app:pull"'
    )


def test_a_private_package_looks_exactly_like_a_missing_one_to_an_outsider(
    client: Client, app: Package, outsider: Any
) -> None:
    auth = basic("eve", make_pat(outsider, "read:packages"))
    private, missing = get_manifest(client, auth, "acme/app"), get_manifest(client, auth, "acme/nothing")
    assert private.status_code == missing.status_code == 404
    assert private.json()["errors"][0]["code"] == "NAME_UNKNOWN"
    assert private.content == missing.content
    assert sorted(private.headers.keys()) == sorted(missing.headers.keys())


def test_a_private_package_looks_like_a_missing_one_to_anonymous_callers(client: Client, app: Package) -> None:
    private, missing = get_manifest(client, None, "acme/app"), get_manifest(client, None, "acme/nothing")
    assert private.status_code == missing.status_code == 401
    assert private.content == missing.content
    assert private["WWW-Authenticate"].replace("acme/app", "X") == missing["WWW-Authenticate"].replace(
        "acme/nothing", "X"
    )


def test_the_token_endpoint_grants_nothing_on_private_and_missing_packages_alike(client: Client, app: Package) -> None:

    for name in ("acme/app", "acme/nothing"):
        token = bearer(client, None, f"repository:{name}:pull,push")
        assert verify(token[7:], service=HOST).access == {name: frozenset()}


def test_a_member_cannot_read_a_private_package_until_it_is_internal(client: Client, app: Package, member: Any) -> None:
    auth = basic("bob", make_pat(member, "read:packages"))
    assert get_manifest(client, auth).status_code == 404
    Package.objects.filter(id=app.id).update(visibility=Visibility.INTERNAL)
    assert get_manifest(client, auth).status_code == 200


def test_internal_packages_stay_hidden_from_outsiders(client: Client, app: Package, outsider: Any) -> None:
    Package.objects.filter(id=app.id).update(visibility=Visibility.INTERNAL)
    assert get_manifest(client, basic("eve", make_pat(outsider, "read:packages"))).status_code == 404


def test_anyone_pulls_a_public_package_anonymously_through_the_token_flow(client: Client, app: Package) -> None:
    Package.objects.filter(id=app.id).update(visibility=Visibility.PUBLIC)
    token = bearer(client, None, "repository:acme/app:pull")
    response = get_manifest(client, token)
    assert response.status_code == 200
    image = make_image(seed="acme/app")
    assert response.content == image.manifest


def test_a_read_token_cannot_push_and_is_told_which_scope_is_missing(client: Client, app: Package, owner: Any) -> None:
    response = push_image(client, "acme/app", basic("alice", make_pat(owner, "read:packages")), tag="v2")
    assert response.status_code == 403
    error = response.json()["errors"][0]
    assert error["code"] == "DENIED"
    assert "write:packages" in error["message"]


def test_a_write_token_cannot_delete(client: Client, app: Package, owner: Any) -> None:
    auth = basic("alice", make_pat(owner, "write:packages"))
    response = client.delete(
        f"/v2/acme/app/manifests/{make_image(seed='acme/app').digest}", HTTP_AUTHORIZATION=auth, HTTP_HOST=HOST
    )
    assert response.status_code == 403
    assert "delete:packages" in response.json()["errors"][0]["message"]


def test_deleting_needs_admin_as_well_as_the_scope(client: Client, app: Package, member: Any) -> None:
    PackagePermission.objects.create(package=app, user=member, role=Role.WRITE)
    auth = basic("bob", make_pat(member, "delete:packages"))
    response = client.delete(
        f"/v2/acme/app/manifests/{make_image(seed='acme/app').digest}", HTTP_AUTHORIZATION=auth, HTTP_HOST=HOST
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "DENIED"
    PackagePermission.objects.filter(package=app, user=member).update(role=Role.ADMIN)
    response = client.delete(
        f"/v2/acme/app/manifests/{make_image(seed='acme/app').digest}", HTTP_AUTHORIZATION=auth, HTTP_HOST=HOST
    )
    assert response.status_code == 202


def test_a_write_grant_lets_a_member_push_a_new_tag(client: Client, app: Package, member: Any) -> None:
    auth = basic("bob", make_pat(member, "write:packages"))
    assert push_image(client, "acme/app", auth, tag="v2").status_code == 403
    PackagePermission.objects.create(package=app, user=member, role=Role.WRITE)
    assert push_image(client, "acme/app", auth, tag="v2").status_code == 201


def test_an_outsider_cannot_create_packages_in_someone_elses_namespace(
    client: Client, owner: Any, outsider: Any
) -> None:
    response = push_image(client, "acme/evil", basic("eve", make_pat(outsider, "write:packages")))
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "DENIED"
    assert not Package.objects.filter(name="acme/evil").exists()
    assert push_image(client, "eve/own", basic("eve", make_pat(outsider, "write:packages"))).status_code == 201


def test_a_member_can_create_packages_in_the_organization(client: Client, member: Any) -> None:
    assert push_image(client, "acme/fresh", basic("bob", make_pat(member, "write:packages"))).status_code == 201
    assert Package.objects.get(name="acme/fresh").created_by == member


def test_an_expired_token_gets_no_registry_token_and_says_why(client: Client, app: Package, owner: Any) -> None:
    plaintext = make_pat(owner, "read:packages")
    PersonalAccessToken.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    response = client.get(
        f"/token?service={HOST}&scope=repository:acme/app:pull",
        HTTP_AUTHORIZATION=basic("alice", plaintext),
        HTTP_HOST=HOST,
    )
    assert response.status_code == 401
    assert "expired" in response.json()["errors"][0]["message"]


def test_a_revoked_token_is_refused_everywhere(client: Client, app: Package, owner: Any) -> None:
    plaintext = make_pat(owner, "read:packages")
    PersonalAccessToken.objects.update(revoked_at=timezone.now())
    for response in (
        client.get(f"/token?service={HOST}", HTTP_AUTHORIZATION=basic("alice", plaintext), HTTP_HOST=HOST),
        get_manifest(client, basic("alice", plaintext)),
    ):
        assert response.status_code == 401
        assert "revoked" in response.json()["errors"][0]["message"]


def test_a_password_is_never_accepted_as_a_token(client: Client, app: Package, owner: Any) -> None:
    response = get_manifest(client, basic("alice", "correct horse battery"))
    assert response.status_code == 401


def test_a_registry_token_stops_working_when_it_expires(
    client: Client, app: Package, owner: Any, settings: Any
) -> None:
    settings.WHARF_REGISTRY_TOKEN_SECONDS = -1
    token = bearer(client, basic("alice", make_pat(owner, "read:packages")), "repository:acme/app:pull")
    response = get_manifest(client, token)
    assert response.status_code == 401
    assert "expired" in response.json()["errors"][0]["message"]


def test_a_registry_token_grants_only_what_was_asked(client: Client, app: Package, owner: Any) -> None:
    token = bearer(client, basic("alice", make_pat(owner, "write:packages")), "repository:acme/app:pull")
    assert get_manifest(client, token).status_code == 200
    response = push_image(client, "acme/app", token, tag="v3")
    assert response.status_code == 403  # not granted (RFC 6750 insufficient_scope): the client asks for push
    assert response["WWW-Authenticate"].endswith(',scope="repository:acme/app:pull,push",error="insufficient_scope"')


def test_docker_login_flow_reaches_the_version_check(client: Client, owner: Any) -> None:
    plaintext = make_pat(owner, "read:packages")
    response = client.get(
        f"/token?account=alice&client_id=docker&offline_token=true&service={HOST}",
        HTTP_AUTHORIZATION=basic("alice", plaintext),
        HTTP_HOST=HOST,
    )
    assert response.status_code == 200
    token = response.json()["token"]
    assert client.get("/v2/", HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST=HOST).status_code == 200


def test_a_mount_from_a_private_package_falls_back_to_an_upload_for_outsiders(
    client: Client, app: Package, outsider: Any
) -> None:
    layer = make_image(seed="acme/app").layers[0]
    auth = basic("eve", make_pat(outsider, "write:packages"))
    response = client.post(
        f"/v2/eve/copy/blobs/uploads/?mount={sha256(layer)}&from=acme/app", HTTP_AUTHORIZATION=auth, HTTP_HOST=HOST
    )
    missing = client.post(
        f"/v2/eve/copy/blobs/uploads/?mount={sha256(b'nothing')}&from=acme/nothing",
        HTTP_AUTHORIZATION=auth,
        HTTP_HOST=HOST,
    )
    assert response.status_code == missing.status_code == 202
    assert sorted(response.headers.keys()) == sorted(missing.headers.keys())


def test_an_upload_session_belongs_to_the_user_who_opened_it(client: Client, owner: Any, member: Any) -> None:
    alice = basic("alice", make_pat(owner, "write:packages"))
    response = client.post("/v2/acme/shared/blobs/uploads/", HTTP_AUTHORIZATION=alice, HTTP_HOST=HOST)
    assert response.status_code == 202
    location = response["Location"]
    package = Package.objects.get(name="acme/shared")
    PackagePermission.objects.create(package=package, user=member, role=Role.WRITE)
    bob = basic("bob", make_pat(member, "write:packages"))
    for method in (client.get, client.patch, client.put, client.delete):
        stolen = method(location, HTTP_AUTHORIZATION=bob, HTTP_HOST=HOST)
        assert stolen.status_code == 404
        assert stolen.json()["errors"][0]["code"] == "BLOB_UPLOAD_UNKNOWN"
    assert client.get(location, HTTP_AUTHORIZATION=alice, HTTP_HOST=HOST).status_code == 204


def test_a_push_token_for_a_new_package_grants_pull_and_push_as_clients_ask(client: Client, owner: Any) -> None:

    token = bearer(client, basic("alice", make_pat(owner, "write:packages")), "repository:alice/new:pull,push")
    assert verify(token[7:], service=HOST).access == {"alice/new": frozenset({"pull", "push"})}
    layer = make_image(seed="new").layers[0]
    head = client.head(f"/v2/alice/new/blobs/{sha256(layer)}", HTTP_AUTHORIZATION=token, HTTP_HOST=HOST)
    assert head.status_code == 404  # nothing there yet: not a challenge, so the client uploads
    assert push_image(client, "alice/new", token).status_code == 201
