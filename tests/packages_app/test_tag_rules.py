"""Immutable and protected tags over /v2, the REST API and the pages; retention and the audit log."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from accounts.models import Team
from packages_app import retention, tag_rules
from packages_app.models import AuditEvent, Manifest, Package, RetentionRule, Tag
from packages_app.services.grants import access_grant
from tests.conftest import basic, make_pat
from tests.oci import Image, make_image

ALL = ("read:packages", "write:packages", "delete:packages")


class Pusher:
    """Pushes over /v2 with a person's personal access token."""

    def __init__(self, client: Client, user: Any) -> None:
        self.client, self.auth = client, basic(user.username, make_pat(user, *ALL))

    def push(self, image: Image, tag: str, name: str = "acme/app") -> Any:
        for digest, data in image.blobs.items():
            answer = self.client.post(
                f"/v2/{name}/blobs/uploads/?digest={digest}", data=data, content_type="application/octet-stream",
                HTTP_AUTHORIZATION=self.auth,
            )  # fmt: skip
            assert answer.status_code == 201, answer.content
        return self.client.put(
            f"/v2/{name}/manifests/{tag}", data=image.manifest, content_type=image.media_type,
            HTTP_AUTHORIZATION=self.auth,
        )  # fmt: skip

    def delete(self, reference: str, name: str = "acme/app") -> Any:
        return self.client.delete(f"/v2/{name}/manifests/{reference}", HTTP_AUTHORIZATION=self.auth)


def denied(answer: Any) -> str:
    assert answer.status_code == 403, answer.content
    [error] = answer.json()["errors"]
    assert error["code"] == "DENIED"
    return str(error["message"])


def tag_digest(name: str) -> str:
    return Tag.objects.get(package__name="acme/app", name=name).manifest.digest


@pytest.fixture
def alice(owner: Any, client: Client) -> Pusher:
    return Pusher(client, owner)


@pytest.fixture
def bob(member: Any, owner: Any, alice: Pusher) -> Pusher:
    """bob writes acme/app (a write grant), which alice created with v1."""
    assert alice.push(make_image(seed="v1"), "v1").status_code == 201
    package = Package.objects.get(name="acme/app")
    access_grant(package=package, user=owner, role="write", username="bob")
    return Pusher(Client(), member)


def test_an_immutable_tag_cannot_be_moved_or_deleted_over_v2(owner: Any, alice: Pusher) -> None:
    first = make_image(seed="first")
    assert alice.push(first, "v1").status_code == 201
    tag_rules.tag_rule_create(user=owner, namespace="acme", pattern="v*", kind="immutable")

    message = denied(alice.push(make_image(seed="second"), "v1"))
    assert message == "tag v1 is immutable (immutable tag rule “v*” of organization acme): it cannot be moved"
    assert tag_digest("v1") == first.digest
    assert alice.push(first, "v1").status_code == 201  # the same digest again is no move
    assert alice.push(make_image(seed="third"), "v2").status_code == 201  # a new tag may be created
    assert "cannot be deleted" in denied(alice.delete("v1"))
    assert "cannot be deleted" in denied(alice.delete(first.digest))  # nor the version carrying it
    assert alice.push(make_image(seed="fourth"), "latest").status_code == 201  # other tags are free
    assert tag_digest("v1") == first.digest
    assert Manifest.objects.get(digest=first.digest).deleted_at is None


def test_the_rest_api_and_the_pages_meet_the_same_immutable_rule(owner: Any, alice: Pusher, client: Client) -> None:
    image = make_image(seed="kept")
    assert alice.push(image, "v1").status_code == 201
    package = Package.objects.get(name="acme/app")
    tag_rules.tag_rule_create(user=owner, package=package, pattern="v[0-9]*", kind="immutable")
    version = Manifest.objects.get(digest=image.digest)
    token = make_pat(owner, *ALL)
    answer = client.delete(
        f"/api/orgs/acme/packages/container/app/versions/{version.id}", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert answer.status_code == 403
    assert answer.json() == {
        "message": "tag v1 is immutable (immutable tag rule “v[0-9]*” of acme/app): it cannot be deleted"
    }
    client.force_login(owner)
    page = client.post(f"/acme/app/-/versions/{version.id}/delete", {"confirm": "yes"}, follow=True)
    assert "tag v1 is immutable" in page.content.decode()
    assert Manifest.objects.get(id=version.id).deleted_at is None


def test_a_protected_tag_refuses_a_writer_and_accepts_an_admin(owner: Any, alice: Pusher, bob: Pusher) -> None:
    package = Package.objects.get(name="acme/app")
    tag_rules.tag_rule_create(user=owner, package=package, pattern="release-*", kind="protected")
    message = denied(bob.push(make_image(seed="bob"), "release-1"))
    assert (
        message
        == "tag release-1 is protected (protected tag rule “release-*” of acme/app): only admins may push or delete it"
    )
    assert bob.push(make_image(seed="bob"), "feature-x").status_code == 201  # other tags: a writer's as usual
    assert alice.push(make_image(seed="alice"), "release-1").status_code == 201
    denied(bob.delete("release-1"))  # deleting needs admin anyway
    assert alice.delete("release-1").status_code == 202


def test_a_protected_rule_naming_a_team_lets_its_members_push(
    owner: Any, member: Any, alice: Pusher, bob: Pusher
) -> None:
    team = Team.objects.create(organization_id=owner.memberships.get().organization_id, name="Release", slug="release")
    team.members.add(member)
    tag_rules.tag_rule_create(user=owner, namespace="acme", pattern="release-*", kind="protected", team="release")
    assert bob.push(make_image(seed="bob"), "release-2").status_code == 201


def test_only_admins_change_rules_and_changes_are_audited(owner: Any, member: Any, bob: Pusher) -> None:
    package = Package.objects.get(name="acme/app")
    for person, scope in (
        (member, {"namespace": "acme"}),
        (member, {"package": package}),
        (None, {"namespace": "acme"}),
    ):
        with pytest.raises(PermissionDenied):
            tag_rules.tag_rule_create(user=person, pattern="v*", kind="immutable", **scope)
    rule = tag_rules.tag_rule_create(user=owner, package=package, pattern="v*", kind="immutable")
    tag_rules.tag_rule_delete(user=owner, rule=rule)
    details = list(AuditEvent.objects.filter(action="tag_rule").order_by("id").values_list("detail", flat=True))
    assert details == ["added immutable tag rule “v*” of acme/app", "removed immutable tag rule “v*” of acme/app"]


def test_retention_never_deletes_an_immutable_or_protected_tag(owner: Any, alice: Pusher) -> None:
    images = [make_image(seed=f"r{i}") for i in range(4)]
    for image, tag in zip(images, ["v1", "keep-me", "old", "new"], strict=True):
        assert alice.push(image, tag).status_code == 201
    package = Package.objects.get(name="acme/app")
    tag_rules.tag_rule_create(user=owner, namespace="acme", pattern="v*", kind="immutable")
    tag_rules.tag_rule_create(user=owner, package=package, pattern="keep-*", kind="protected")
    rule = RetentionRule(package=package, keep_newest=1)
    doomed = {p.digest for p in retention.retention_plan(package=package, rules=[rule])}
    assert doomed == {images[2].digest}


def test_the_rest_api_manages_rules_for_admins_only(owner: Any, member: Any, client: Client, bob: Pusher) -> None:
    def call(method: str, path: str, user: Any, body: dict[str, Any] | None = None) -> Any:
        kwargs: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {make_pat(user, *ALL)}"}
        if body is not None:
            kwargs |= {"data": json.dumps(body), "content_type": "application/json"}
        return getattr(client, method)(path, **kwargs)

    base = "/api/orgs/acme/packages/container/app/tag-rules"
    made = call("post", base, owner, {"pattern": "v*", "kind": "immutable"})
    assert made.status_code == 201, made.content
    assert made.json()["pattern_syntax"] == "glob"
    assert made.json()["scope"] == {"package": "acme/app"}
    assert call("post", base, member, {"pattern": "x*", "kind": "protected"}).status_code == 403
    assert call("post", "/api/orgs/acme/tag-rules", member, {"pattern": "x*", "kind": "protected"}).status_code == 403
    assert call("post", base, owner, {"pattern": "bad pattern!", "kind": "protected"}).status_code == 422
    assert [r["pattern"] for r in call("get", base, owner).json()] == ["v*"]
    assert call("delete", f"{base}/{made.json()['id']}", owner).status_code == 204
    assert call("get", base, owner).json() == []


def test_the_pages_add_and_remove_rules(owner: Any, member: Any, client: Client) -> None:
    client.force_login(member)
    assert client.get("/orgs/acme/tag-rules").status_code == 403
    client.force_login(owner)
    assert client.post("/orgs/acme/tag-rules", {"pattern": "v*", "kind": "immutable"}).status_code == 302
    page = client.get("/orgs/acme/tag-rules")
    assert page.status_code == 200
    assert "v*" in page.content.decode()
    rule = tag_rules.tag_rules_of(namespace="acme").get()
    assert client.post(f"/orgs/acme/tag-rules/{rule.id}/delete", {"confirm": "yes"}).status_code == 302
    assert not tag_rules.tag_rules_of(namespace="acme").exists()
