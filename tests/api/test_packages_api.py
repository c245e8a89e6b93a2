"""The REST API with the three people (alice owns acme, bob is a member, eve an outsider), its OpenAPI
schema, and schemathesis against it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from openapi_spec_validator import validate

from packages_app import uploads
from packages_app.models import Manifest, Package
from packages_app.services.grants import access_grant
from packages_app.services.manifests import manifest_put
from packages_app.services.packages import package_for_write, package_set_visibility
from packages_app.uploads import Chunk
from tests.conftest import make_pat
from tests.oci import make_image

pytestmark = pytest.mark.django_db
ALL = ("read:packages", "write:packages", "delete:packages")
BASE = "/api/orgs/acme/packages/container"


@pytest.fixture
def app(owner: Any, member: Any, outsider: Any) -> Any:
    """acme/app (private, tags v1 and latest) and acme/tools/builder (public), both pushed by alice."""
    for name, visibility in (("acme/app", "private"), ("acme/tools/builder", "public")):
        package = package_for_write(name=name, user=owner)
        image = make_image(seed=name)
        for digest, data in image.blobs.items():
            uploads.blob_upload_monolithic(name=name, digest=digest, chunk=Chunk([data], length=len(data)), user=owner)
        manifest_put(
            name=name, reference="v1", body=image.manifest, content_type=image.media_type, tags=["latest"], user=owner
        )
        if visibility == "public":
            package_set_visibility(package=package, user=owner, visibility="public")
    return Package.objects.get(name="acme/app")


def call(client: Client, method: str, path: str, user: Any, *scopes: str, **data: Any) -> Any:
    token = make_pat(user, *(scopes or ALL))
    kwargs: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if data:
        kwargs |= {"data": data, "content_type": "application/json"}
    return getattr(client, method)(path, **kwargs)


def test_the_api_needs_a_token(app: Any, client: Client) -> None:
    response = client.get("/api/user/packages")
    assert response.status_code == 401
    assert "message" in response.json()


def test_an_organizations_packages_are_listed_as_each_person_may_read_them(
    app: Any, owner: Any, member: Any, outsider: Any, client: Client
) -> None:
    names = {
        p: [x["name"] for x in call(client, "get", "/api/orgs/acme/packages?package_type=container", p).json()]
        for p in (owner, member, outsider)
    }
    assert names == {owner: ["app", "tools/builder"], member: ["tools/builder"], outsider: ["tools/builder"]}
    public = call(client, "get", "/api/orgs/acme/packages?visibility=private", owner).json()
    assert [p["name"] for p in public] == ["app"]
    assert public[0]["owner"] == {"login": "acme", "type": "Organization"}


def test_the_users_own_packages_and_another_users(owner: Any, outsider: Any, client: Client) -> None:
    package_for_write(name="eve/tool", user=outsider)
    assert [p["name"] for p in call(client, "get", "/api/user/packages", outsider).json()] == ["tool"]
    assert call(client, "get", "/api/users/eve/packages", owner).json() == []
    assert call(client, "get", "/api/users/acme/packages", owner).status_code == 404  # an organization


def test_a_package_is_got_by_its_url_encoded_name(app: Any, owner: Any, client: Client) -> None:
    body = call(client, "get", f"{BASE}/tools%2Fbuilder", owner).json()
    assert body["name"] == "tools/builder"
    assert body["visibility"] == "public"
    assert body["version_count"] == 1


def test_a_package_the_caller_cannot_read_answers_exactly_as_a_missing_one(
    app: Any, outsider: Any, client: Client
) -> None:
    version = Manifest.objects.get(package=app).id
    for suffix in ("", "/versions", f"/versions/{version}", "/access"):
        hidden = call(client, "get", f"{BASE}/app{suffix}", outsider)
        missing = call(client, "get", f"{BASE}/ghost{suffix}", outsider)
        assert (
            (hidden.status_code, hidden.content)
            == (missing.status_code, missing.content)
            == (404, b'{"message":"Not Found"}')
        )
    for method, suffix in (("delete", ""), ("delete", f"/versions/{version}"), ("post", "/restore"), ("patch", "")):
        hidden = call(client, method, f"{BASE}/app{suffix}", outsider, visibility="public")
        missing = call(client, method, f"{BASE}/ghost{suffix}", outsider, visibility="public")
        assert (hidden.status_code, hidden.content) == (missing.status_code, missing.content)
    assert Package.objects.get(name="acme/app").visibility == "private"


def test_another_packages_version_id_is_refused_like_a_missing_id(
    app: Any, owner: Any, outsider: Any, client: Client
) -> None:
    package_for_write(name="eve/tool", user=outsider)
    acme_version = Manifest.objects.get(package=app).id
    for method in ("get", "delete"):
        other = call(client, method, f"/api/user/packages/container/tool/versions/{acme_version}", outsider)
        missing = call(client, method, "/api/user/packages/container/tool/versions/999999", outsider)
        assert (other.status_code, other.content) == (missing.status_code, missing.content) == (404, missing.content)
    restore = call(client, "post", f"/api/user/packages/container/tool/versions/{acme_version}/restore", outsider)
    assert restore.status_code == 404
    assert Manifest.objects.get(id=acme_version).deleted_at is None


def test_versions_list_their_tags_and_delete_restore_through_the_api(app: Any, owner: Any, client: Client) -> None:
    [version] = call(client, "get", f"{BASE}/app/versions", owner).json()
    assert sorted(version["metadata"]["container"]["tags"]) == ["latest", "v1"]
    assert call(client, "delete", f"{BASE}/app/versions/{version['id']}", owner).status_code == 204
    assert call(client, "get", f"{BASE}/app/versions", owner).json() == []
    [deleted] = call(client, "get", f"{BASE}/app/versions?state=deleted", owner).json()
    assert deleted["name"] == version["name"]
    assert deleted["deleted_at"]
    assert call(client, "post", f"{BASE}/app/versions/{version['id']}/restore", owner).status_code == 204
    [back] = call(client, "get", f"{BASE}/app/versions", owner).json()
    assert back["name"] == version["name"]
    assert sorted(back["metadata"]["container"]["tags"]) == ["latest", "v1"]


def test_a_member_reader_cannot_delete_or_see_deleted_versions(
    app: Any, owner: Any, member: Any, client: Client
) -> None:
    access_grant(package=app, user=owner, username="bob", role="read")
    version = Manifest.objects.get(package=app).id
    assert call(client, "delete", f"{BASE}/app/versions/{version}", member).status_code == 403
    assert call(client, "delete", f"{BASE}/app", member).status_code == 403
    assert call(client, "get", f"{BASE}/app/versions?state=deleted", member).status_code == 403
    assert call(client, "patch", f"{BASE}/app", member, visibility="public").status_code == 403


def test_deleting_needs_the_delete_scope(app: Any, owner: Any, client: Client) -> None:
    response = call(client, "delete", f"{BASE}/app", owner, "write:packages")
    assert response.status_code == 403
    assert "delete:packages" in response.json()["message"]
    assert Package.objects.filter(name="acme/app").exists()


def test_a_package_is_deleted_and_restored_through_the_api(app: Any, owner: Any, client: Client) -> None:
    assert call(client, "delete", f"{BASE}/app", owner).status_code == 204
    assert call(client, "get", f"{BASE}/app", owner).status_code == 404
    assert call(client, "post", f"{BASE}/app/restore", owner).status_code == 204
    assert call(client, "get", f"{BASE}/app", owner).json()["name"] == "app"


def test_restore_is_refused_once_the_name_was_reused(app: Any, owner: Any, client: Client) -> None:
    call(client, "delete", f"{BASE}/app", owner)
    package_for_write(name="acme/app", user=owner)
    response = call(client, "post", f"{BASE}/app/restore", owner)
    assert response.status_code == 422
    assert "used again" in response.json()["message"]


def test_visibility_changes_through_the_api_and_public_is_final(app: Any, owner: Any, client: Client) -> None:
    assert call(client, "patch", f"{BASE}/app", owner, visibility="internal").json()["visibility"] == "internal"
    assert call(client, "patch", f"{BASE}/app", owner, visibility="public").status_code == 200
    refused = call(client, "patch", f"{BASE}/app", owner, visibility="private")
    assert refused.status_code == 422
    assert Package.objects.get(name="acme/app").visibility == "public"


def test_access_is_granted_and_removed_through_the_api(
    app: Any, owner: Any, member: Any, outsider: Any, client: Client
) -> None:
    body = call(client, "put", f"{BASE}/app/access/users/bob", owner, role="write").json()
    assert body["grants"] == [{"type": "user", "name": "bob", "role": "write", "source": "package"}]
    assert call(client, "get", f"{BASE}/app", member).status_code == 200
    refused = call(client, "put", f"{BASE}/app/access/users/eve", owner, role="read")
    assert refused.status_code == 422
    assert "members" in refused.json()["message"]
    assert call(client, "put", f"{BASE}/app/access/users/bob", member, role="admin").status_code == 403
    assert call(client, "delete", f"{BASE}/app/access/users/bob", owner).json()["grants"] == []
    assert call(client, "get", f"{BASE}/app", member).status_code == 404


def test_the_openapi_schema_and_docs_are_served_without_external_assets(client: Client) -> None:

    schema = client.get("/api/schema?format=json")
    assert schema.status_code == 200
    validate(schema.json())
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert b"cdn.jsdelivr" not in docs.content
    assert b"/static/drf_spectacular_sidecar/" in docs.content


@pytest.mark.parametrize(
    "query", ["page=9223372036854775807", "page=1" + "0" * 30, "page=1000001", "page=\uff11", "page=0", "per_page=101"]
)
def test_a_page_number_out_of_range_is_a_json_400_not_a_server_error(
    app: Any, owner: Any, client: Client, query: str
) -> None:
    response = call(client, "get", f"{BASE}/app/versions?{query}", owner)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["message"] in {
        "page must be a whole number from 1 to 1000000.",
        "per_page must be a whole number from 1 to 100.",
    }


def test_the_last_allowed_page_is_an_empty_list(app: Any, owner: Any, client: Client) -> None:
    response = call(client, "get", f"{BASE}/app/versions?page=1000000&per_page=100", owner)
    assert response.status_code == 200
    assert response.json() == []
    assert len(call(client, "get", f"{BASE}/app/versions?page=01&per_page=1", owner).json()) == 1
