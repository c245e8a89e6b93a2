"""Managing webhooks on the pages and in the REST API: admins only, refusals as the rest of the site."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from packages_app.services.packages import package_for_write
from tests.conftest import make_pat
from tests.webhooks.listener import Listener
from webhooks.models import Delivery, Webhook

ALL = ("read:packages", "write:packages", "delete:packages")


@pytest.fixture
def package(owner: Any) -> Any:
    return package_for_write(name="acme/app", user=owner)


def api(client: Client, method: str, path: str, user: Any, body: dict[str, Any] | None = None) -> Any:
    headers: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {make_pat(user, *ALL)}"}
    if body is not None:
        headers |= {"data": json.dumps(body), "content_type": "application/json"}
    return getattr(client, method)(path, **headers)


def test_an_owner_adds_an_organization_hook_on_its_page_and_sees_the_ping_in_the_log(
    owner: Any, client: Client, listener: Listener, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(owner)
    form = {"url": listener.url, "secret": "x", "events": ["package.published", "version.deleted"], "active": "on"}
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post("/orgs/acme/hooks", form)
    hook = Webhook.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == "/orgs/acme/hooks"
    assert (hook.namespace, hook.events, hook.secret) == ("acme", ["package.published", "version.deleted"], "x")
    page = client.get(f"/orgs/acme/hooks/{hook.id}")
    assert page.status_code == 200
    assert b"ping" in page.content
    assert b"HTTP 200" in page.content
    assert b"Redeliver" in page.content
    delivery = Delivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(f"/orgs/acme/hooks/{hook.id}/redeliver", {"delivery": delivery.id})
    assert answer.status_code == 302
    assert len(listener.requests) == 2
    assert Delivery.objects.filter(redelivery_of=delivery, status="succeeded").exists()


def test_the_page_refuses_a_private_target_with_a_message(owner: Any, client: Client) -> None:
    client.force_login(owner)
    answer = client.post("/orgs/acme/hooks", {"url": "http://169.254.169.254/", "events": ["package.published"]})
    assert answer.status_code == 200
    assert "link-local" in answer.content.decode()
    assert not Webhook.objects.exists()


def test_hook_pages_are_for_admins_only(owner: Any, member: Any, outsider: Any, client: Client, package: Any) -> None:
    for person, org_status, package_status in ((member, 403, 404), (outsider, 404, 404)):
        client.force_login(person)
        assert client.get("/orgs/acme/hooks").status_code == org_status
        assert client.get("/acme/app/-/settings/hooks").status_code == package_status
    client.logout()
    assert client.get("/orgs/acme/hooks").status_code == 302  # to the login page
    client.force_login(owner)
    assert client.get("/acme/app/-/settings/hooks").status_code == 200


def test_a_package_admin_manages_a_package_hook_on_its_settings_page(
    owner: Any, client: Client, package: Any, listener: Listener
) -> None:
    client.force_login(owner)
    form = {"url": listener.url, "events": ["package.published"], "active": "on"}
    assert client.post("/acme/app/-/settings/hooks", form).status_code == 302
    hook = Webhook.objects.get(package=package)
    edit = {"url": listener.url, "events": ["package.deleted"], "secret": ""}
    assert client.post(f"/acme/app/-/settings/hooks/{hook.id}", edit).status_code == 302
    hook.refresh_from_db()
    assert hook.events == ["package.deleted"]
    assert hook.active is False
    assert client.post(f"/acme/app/-/settings/hooks/{hook.id}/delete", {"confirm": "yes"}).status_code == 302
    assert not Webhook.objects.exists()


def test_the_api_creates_lists_changes_and_deletes_an_organization_hook(
    owner: Any, client: Client, listener: Listener, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        made = api(
            client,
            "post",
            "/api/orgs/acme/hooks",
            owner,
            {"url": listener.url, "secret": "s", "events": ["package.published"]},
        )
    assert made.status_code == 201, made.content
    hook = made.json()
    assert hook["has_secret"] is True
    assert "secret" not in hook
    assert hook["scope"] == {"namespace": "acme"}
    assert [h["id"] for h in api(client, "get", "/api/orgs/acme/hooks", owner).json()] == [hook["id"]]
    [ping] = api(client, "get", f"/api/orgs/acme/hooks/{hook['id']}/deliveries", owner).json()
    assert (ping["event"], ping["status"], ping["status_code"]) == ("ping", "succeeded", 200)
    with django_capture_on_commit_callbacks(execute=True):
        again = api(client, "post", f"/api/orgs/acme/hooks/{hook['id']}/deliveries/{ping['id']}/attempts", owner)
    assert again.status_code == 202
    assert again.json()["redelivery_of"] == ping["id"]
    changed = api(client, "patch", f"/api/orgs/acme/hooks/{hook['id']}", owner, {"active": False})
    assert changed.status_code == 200
    assert changed.json()["active"] is False
    assert api(client, "delete", f"/api/orgs/acme/hooks/{hook['id']}", owner).status_code == 204
    assert not Webhook.objects.exists()


def test_the_api_refuses_private_targets_and_non_admins(
    owner: Any, member: Any, outsider: Any, client: Client, package: Any
) -> None:
    refused = api(
        client,
        "post",
        "/api/orgs/acme/hooks",
        owner,
        {"url": "http://127.0.0.1:6379/", "events": ["package.published"]},
    )
    assert refused.status_code == 422
    assert "127.0.0.1" in refused.json()["message"]
    body = {"url": "https://example.com/hook", "events": ["package.published"]}
    assert api(client, "post", "/api/orgs/acme/hooks", member, body).status_code == 403
    assert api(client, "post", "/api/orgs/acme/hooks", outsider, body).status_code == 404
    path = "/api/orgs/acme/packages/container/app/hooks"
    assert api(client, "get", path, outsider).status_code == 404
    assert api(client, "get", path, owner).json() == []
    assert not Webhook.objects.exists()
