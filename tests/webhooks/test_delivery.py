"""Webhook events and deliveries against a real HTTP listener on loopback (Celery eager in this process)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from packages_app.access import Actor
from packages_app.models import Manifest, Package
from packages_app.services.packages import package_delete, package_restore, package_set_visibility
from packages_app.services.versions import version_delete, version_restore
from tests.oci import OCI_INDEX, make_image, make_index
from tests.webhooks.listener import Listener, listening
from webhooks import services as hooks
from webhooks.models import Delivery, Webhook

SECRET = "s3cr3t-of-the-hook"


def org_hook(owner: Any, listener: Listener, events: list[str] | None = None) -> Webhook:
    return hooks.webhook_create(
        user=owner, namespace="acme", url=listener.url, secret=SECRET, events_=events or ["package.published"]
    )


def signed_by(secret: str, body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def test_a_new_hook_is_pinged_with_a_signed_body(
    owner: Any, listener: Listener, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        hook = org_hook(owner, listener)
    [ping] = listener.requests
    assert ping.headers["x-wharf-event"] == "ping"
    assert ping.headers["x-wharf-hook-id"] == str(hook.id)
    assert signed_by(SECRET, ping.body, ping.headers["x-wharf-signature-256"])
    assert json.loads(ping.body)["hook_id"] == hook.id
    delivery = Delivery.objects.get(webhook=hook)
    assert (delivery.status, delivery.response_status, delivery.response_excerpt) == ("succeeded", 200, "thanks")
    assert delivery.response_ms is not None
    assert delivery.attempts == 1


def test_a_tagged_push_sends_one_signed_package_published(
    owner: Any, registry: Any, listener: Listener, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        org_hook(owner, listener)
        image = make_image(seed="one")
        assert registry.push_image("acme/app", image, "v1").status_code == 201
    [event] = listener.events("package.published")
    assert signed_by(SECRET, event.body, event.headers["x-wharf-signature-256"])
    body = json.loads(event.body)
    assert body["action"] == "published"
    version = body["registry_package"]["package_version"]
    assert body["registry_package"]["full_name"] == "acme/app"
    assert version["container_metadata"]["tags"] == ["v1"]
    assert version["version"] == image.digest


def test_an_index_pushed_with_its_platforms_gives_one_event_naming_the_index(
    owner: Any, registry: Any, listener: Listener, django_capture_on_commit_callbacks: Any
) -> None:
    amd64, arm64 = make_image(seed="m", arch="amd64"), make_image(seed="m", arch="arm64")
    index = make_index(
        [(amd64, {"os": "linux", "architecture": "amd64"}), (arm64, {"os": "linux", "architecture": "arm64"})]
    )
    with django_capture_on_commit_callbacks(execute=True):
        org_hook(owner, listener)
        # As buildx and `docker manifest push` do: the platform images by digest, then the index by tag.
        assert registry.push_image("acme/multi", amd64, None).status_code == 201
        assert registry.push_image("acme/multi", arm64, None).status_code == 201
        assert registry.push_manifest("acme/multi", "latest", index, OCI_INDEX).status_code == 201
    [event] = listener.events("package.published")
    version = json.loads(event.body)["registry_package"]["package_version"]
    assert version["container_metadata"]["manifest"]["media_type"] == OCI_INDEX
    assert version["container_metadata"]["tags"] == ["latest"]
    platforms = version["container_metadata"]["manifest"]["platforms"]
    assert [(p["architecture"], p["digest"]) for p in platforms] == [("amd64", amd64.digest), ("arm64", arm64.digest)]


def test_an_untagged_image_nobody_claims_is_published_on_its_own(
    owner: Any, registry: Any, listener: Listener, django_capture_on_commit_callbacks: Any
) -> None:
    image = make_image(seed="alone")
    with django_capture_on_commit_callbacks(execute=True):
        org_hook(owner, listener)
        assert registry.push_image("acme/app", image, None).status_code == 201
    [event] = listener.events("package.published")
    assert json.loads(event.body)["registry_package"]["package_version"]["version"] == image.digest


def test_delete_restore_retag_and_visibility_each_send_their_event(
    owner: Any, registry: Any, listener: Listener, django_capture_on_commit_callbacks: Any
) -> None:
    wanted = ["package.tag_updated", "version.deleted", "version.restored", "package.visibility_changed",
              "package.deleted", "package.restored"]  # fmt: skip
    image = make_image(seed="d")
    assert registry.push_image("acme/app", image, "v1").status_code == 201
    actor = Actor(user=owner)
    package = Package.objects.get(name="acme/app")
    manifest = Manifest.objects.get(digest=image.digest)
    with django_capture_on_commit_callbacks(execute=True):
        org_hook(owner, listener, wanted)
        assert registry.push_manifest("acme/app", "v2", image.manifest, image.media_type).status_code == 201
        version_delete(manifest=manifest, actor=actor)
        version_restore(manifest=manifest, actor=actor)
        package_set_visibility(package=package, user=owner, visibility="public")
        package_delete(package=package, actor=actor)
        package_restore(package=package, actor=actor)
    received = [r.headers["x-wharf-event"] for r in listener.requests if r.headers["x-wharf-event"] != "ping"]
    assert received == wanted
    bodies = {r.headers["x-wharf-event"]: json.loads(r.body).get("registry_package") for r in listener.requests}
    assert bodies["package.tag_updated"]["package_version"]["previous"] == {"v2": None}
    assert bodies["version.deleted"]["package_version"]["container_metadata"]["tags"] == ["v1", "v2"]
    assert bodies["version.restored"]["package_version"]["container_metadata"]["tags"] == ["v1", "v2"]
    assert bodies["package.visibility_changed"]["changes"] == {"visibility": {"from": "private"}}


def test_a_package_hook_hears_only_its_package(
    owner: Any, registry: Any, listener: Listener, django_capture_on_commit_callbacks: Any
) -> None:
    assert registry.push_image("acme/app", make_image(seed="a"), "v1").status_code == 201
    package = Package.objects.get(name="acme/app")
    with django_capture_on_commit_callbacks(execute=True):
        hooks.webhook_create(user=owner, package=package, url=listener.url, events_=["package.published"])
        assert registry.push_image("acme/other", make_image(seed="b"), "v1").status_code == 201
        assert registry.push_image("acme/app", make_image(seed="c"), "v2").status_code == 201
    [event] = listener.events("package.published")
    assert json.loads(event.body)["registry_package"]["full_name"] == "acme/app"
    assert "x-wharf-signature-256" not in event.headers  # no secret, no signature


def test_a_failing_target_is_retried_and_the_log_shows_each_attempt(
    owner: Any, listener: Listener, django_capture_on_commit_callbacks: Any
) -> None:
    listener.statuses = [500, 503]
    with django_capture_on_commit_callbacks(execute=True):
        hook = org_hook(owner, listener)
    assert [r.headers["x-wharf-event"] for r in listener.requests] == ["ping"] * 3
    assert len({r.headers["x-wharf-delivery"] for r in listener.requests}) == 1  # one delivery, three attempts
    delivery = Delivery.objects.get(webhook=hook)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("succeeded", 3, 200)


def test_a_target_that_keeps_failing_is_given_up_after_the_retries(
    owner: Any, listener: Listener, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.WHARF_WEBHOOK_RETRIES = 2
    listener.statuses = [500] * 10
    with django_capture_on_commit_callbacks(execute=True):
        hook = org_hook(owner, listener)
    delivery = Delivery.objects.get(webhook=hook)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("failed", 3, 500)
    assert delivery.response_excerpt == "not today"
    assert delivery.error == "HTTP 500"
    assert len(listener.requests) == 3


def test_redeliver_sends_the_same_signed_body_again(
    owner: Any, listener: Listener, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        hook = org_hook(owner, listener)
    first = Delivery.objects.get(webhook=hook)
    with django_capture_on_commit_callbacks(execute=True):
        again = hooks.delivery_redeliver(delivery=first, user=owner)
    assert [r.body for r in listener.requests] == [bytes(first.body)] * 2
    assert (
        listener.requests[0].headers["x-wharf-signature-256"] == listener.requests[1].headers["x-wharf-signature-256"]
    )
    again.refresh_from_db()
    assert again.redelivery_of == first
    assert again.status == "succeeded"


def test_a_redirect_is_not_followed(
    owner: Any, listener: Listener, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.WHARF_WEBHOOK_RETRIES = 0
    with listening() as elsewhere:
        listener.statuses, listener.location = [302], elsewhere.url
        with django_capture_on_commit_callbacks(execute=True):
            hook = org_hook(owner, listener)
        assert elsewhere.connections == 0
    delivery = Delivery.objects.get(webhook=hook)
    assert (delivery.status, delivery.response_status) == ("failed", 302)


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:6379/", "http://localhost:6379/", "http://10.0.0.7/",
     "http://[::1]:6379/", "http://[::ffff:127.0.0.1]:6379/", "http://0.0.0.0:6379/", "http://100.64.0.1/"],
)  # fmt: skip
def test_a_private_target_is_refused_without_a_connection(owner: Any, connects: list[Any], url: str) -> None:
    with pytest.raises(ValidationError, match="loopback, link-local, private or reserved"):
        hooks.webhook_create(user=owner, namespace="acme", url=url, events_=["package.published"])
    assert connects == []
    assert not Webhook.objects.exists()


def test_a_loopback_listener_not_on_the_allow_list_gets_no_connection(
    owner: Any, settings: Any, connects: list[Any], eager: None, django_capture_on_commit_callbacks: Any
) -> None:
    settings.WHARF_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    with listening() as target:
        with django_capture_on_commit_callbacks(execute=False):
            hook = org_hook(owner, target)  # allowed when it was created
        settings.WHARF_WEBHOOK_ALLOWED_HOSTS, settings.WHARF_WEBHOOK_RETRIES = [], 0
        with django_capture_on_commit_callbacks(execute=True):
            hooks.webhook_ping(webhook=hook, user=owner)
        assert target.connections == 0
    assert connects == []
    failed = Delivery.objects.filter(webhook=hook, status="failed").get()
    assert "resolves to 127.0.0.1" in failed.error
    assert failed.response_status is None


def test_only_admins_manage_hooks(owner: Any, member: Any, outsider: Any, listener: Listener) -> None:
    for person in (member, outsider, None):
        with pytest.raises(PermissionDenied):
            hooks.webhook_create(user=person, namespace="acme", url=listener.url, events_=["package.published"])
    with pytest.raises(ValidationError, match="Unknown event"):
        hooks.webhook_create(user=owner, namespace="acme", url=listener.url, events_=["package.exploded"])
    with pytest.raises(ValidationError, match="http:// or https://"):
        hooks.webhook_create(user=owner, namespace="acme", url="file:///etc/passwd", events_=["package.published"])
