"""Storage usage and quotas on the owner's settings pages and in the REST API (issue 12, point 6): both
show the bytes of the distinct blobs the owner's packages hold, to the owner (an organization's
members) and site staff only; only staff change a quota."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from packages_app import uploads
from packages_app.models import StorageQuota
from packages_app.services import manifests
from packages_app.uploads import Chunk
from tests.conftest import make_pat
from tests.oci import Image, layer_tar, make_image

pytestmark = pytest.mark.django_db
SHARED = layer_tar({"base.txt": b"a base layer both images share\n" * 64})


def push(name: str, image: Image, user: Any) -> None:
    for digest, data in image.blobs.items():
        uploads.blob_upload_monolithic(name=name, digest=digest, chunk=Chunk([data], length=len(data)), user=user)
    manifests.manifest_put(name=name, reference="v1", body=image.manifest, content_type=image.media_type, user=user)


@pytest.fixture
def distinct_bytes(owner: Any) -> int:
    """acme/app and acme/api share a layer; alice/tool is alice's own. Returns acme's distinct bytes."""
    first = make_image(layers=[SHARED, layer_tar({"a": b"app\n" * 100})], seed="app")
    second = make_image(layers=[SHARED, layer_tar({"b": b"api\n" * 200})], seed="api")
    push("acme/app", first, owner)
    push("acme/api", second, owner)
    push("alice/tool", make_image(seed="tool"), owner)
    blobs = {**first.blobs, **second.blobs}
    return sum(len(data) for data in blobs.values())


def api(client: Client, method: str, path: str, user: Any, *scopes: str, **data: Any) -> Any:
    token = make_pat(user, *(scopes or ("read:packages", "write:packages")))
    kwargs: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if data:
        kwargs |= {"data": data, "content_type": "application/json"}
    return getattr(client, method)(path, **kwargs)


def staff() -> Any:
    return get_user_model().objects.create_user("root", "root@example.com", "pw", is_staff=True)


def test_the_api_shows_an_organizations_distinct_bytes_to_its_members(
    distinct_bytes: int, owner: Any, member: Any, outsider: Any, client: Client
) -> None:
    body = api(client, "get", "/api/orgs/acme/quota", member).json()
    assert body == {
        "namespace": "acme",
        "used_bytes": distinct_bytes,
        "limit_bytes": None,
        "available_bytes": None,
        "limit_source": "default",
    }
    assert api(client, "get", "/api/orgs/acme/quota", owner).json()["used_bytes"] == distinct_bytes
    outside = api(client, "get", "/api/orgs/acme/quota", outsider)
    assert outside.status_code == 404
    assert outside.json() == api(client, "get", "/api/orgs/nosuch/quota", owner).json()


def test_the_api_shows_a_users_own_quota(
    distinct_bytes: int, owner: Any, outsider: Any, client: Client, settings: Any
) -> None:
    settings.WHARF_QUOTA_DEFAULT_BYTES = 10**6
    mine = api(client, "get", "/api/user/quota", owner).json()
    tool = make_image(seed="tool")
    used = sum(len(d) for d in tool.blobs.values())
    assert mine == {
        "namespace": "alice",
        "used_bytes": used,
        "limit_bytes": 10**6,
        "available_bytes": 10**6 - used,
        "limit_source": "default",
    }
    assert api(client, "get", "/api/users/alice/quota", owner).json() == mine
    assert api(client, "get", "/api/users/alice/quota", outsider).status_code == 404
    assert api(client, "get", "/api/users/alice/quota", staff()).json() == mine


def test_only_site_staff_change_a_quota(distinct_bytes: int, owner: Any, client: Client) -> None:
    refused = api(client, "patch", "/api/orgs/acme/quota", owner, limit_bytes=5000)
    assert refused.status_code == 403
    assert "administrators" in refused.json()["message"]
    assert not StorageQuota.objects.exists()
    admin = staff()
    changed = api(client, "patch", "/api/orgs/acme/quota", admin, limit_bytes=distinct_bytes + 10)
    assert changed.status_code == 200
    assert changed.json() | {} == {
        "namespace": "acme",
        "used_bytes": distinct_bytes,
        "limit_bytes": distinct_bytes + 10,
        "available_bytes": 10,
        "limit_source": "namespace",
    }
    assert StorageQuota.objects.get(namespace="acme").limit_bytes == distinct_bytes + 10
    bad = api(client, "patch", "/api/orgs/acme/quota", admin, limit_bytes=-1)
    assert bad.status_code == 422
    assert "limit_bytes" in bad.json()["message"]
    back = api(client, "patch", "/api/orgs/acme/quota", admin, limit_bytes=None)
    assert back.json()["limit_source"] == "default"
    assert not StorageQuota.objects.exists()
    read_only = api(client, "patch", "/api/orgs/acme/quota", admin, "read:packages", limit_bytes=1)
    assert read_only.status_code == 403


def _shown(html: str, element: str) -> int:
    match = re.search(rf'id="{element}" data-bytes="(\d+)"', html)
    assert match, html
    return int(match.group(1))


def test_the_organization_page_shows_usage_and_quota_to_members(
    distinct_bytes: int, member: Any, outsider: Any, client: Client
) -> None:
    StorageQuota.objects.create(namespace="acme", limit_bytes=4 * 1024**2)
    client.force_login(member)
    page = client.get("/orgs/acme/").content.decode()
    assert _shown(page, "storage-used") == distinct_bytes
    assert _shown(page, "storage-limit") == 4 * 1024**2
    assert "4.0 MiB" in page
    assert "a quota set by the site" in page
    client.force_login(outsider)
    assert client.get("/orgs/acme/").status_code == 404


def test_the_users_storage_settings_page_shows_their_own_usage(distinct_bytes: int, owner: Any, client: Client) -> None:
    client.force_login(owner)
    page = client.get("/settings/storage")
    assert page.status_code == 200
    html = page.content.decode()
    tool = make_image(seed="tool")
    assert _shown(html, "storage-used") == sum(len(d) for d in tool.blobs.values())
    assert "no storage quota" in html
    assert 'href="/settings/storage"' in client.get("/settings/tokens/").content.decode()  # in the user menu
    client.logout()
    assert client.get("/settings/storage").status_code == 302  # to the sign-in page
