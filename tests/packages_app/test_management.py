"""Package management with the three people: alice (owner of acme), bob (member), eve (outsider).

Access grants, the organization's policy, source-label links with inherited access, delete and
restore (services, pages and the registry), the download limit and the audit log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from accounts.models import Organization, Team
from packages_app import gc
from packages_app.access import Actor, package_role
from packages_app.exceptions import DeleteRefused
from packages_app.metadata import manifest_extract_metadata
from packages_app.models import AuditEvent, DownloadCount, Manifest, Package, Role, Tag
from packages_app.repository_links import (
    package_link_from_source_label,
    package_link_repository,
    package_set_inheritance,
)
from packages_app.services.grants import access_grant, access_revoke
from packages_app.services.packages import package_delete, package_for_write, package_restore, package_set_visibility
from packages_app.services.versions import version_delete, version_restore
from repositories.services import collaborator_set, repository_create
from tests.conftest import basic, make_pat
from tests.oci import make_image

pytestmark = pytest.mark.django_db
NAME = "acme/app"


@pytest.fixture
def pushed(owner: Any, client: Client) -> Any:
    """acme/app pushed by alice with her token: tags v1 and latest on one image, v2 on another."""
    token = make_pat(owner, "write:packages")
    headers: dict[str, Any] = {"HTTP_AUTHORIZATION": basic("alice", token)}
    one, two = make_image(seed="one"), make_image(seed="two")
    for image, tags in ((one, ["v1", "latest"]), (two, ["v2"])):
        for digest, data in image.blobs.items():
            url = f"/v2/{NAME}/blobs/uploads/?digest={digest}"
            assert client.post(url, data=data, content_type="application/octet-stream", **headers).status_code == 201
        for tag in tags:
            put = client.put(
                f"/v2/{NAME}/manifests/{tag}", data=image.manifest, content_type=image.media_type, **headers
            )
            assert put.status_code == 201
    client.logout()
    return one, two


def pull(client: Client, reference: str, auth: str = "") -> Any:
    extra: dict[str, Any] = {"HTTP_AUTHORIZATION": auth} if auth else {}
    return client.get(f"/v2/{NAME}/manifests/{reference}", HTTP_ACCEPT="*/*", **extra)


# --- access grants ------------------------------------------------------------------------------


def test_an_admin_grants_a_member_read_and_it_takes_effect(pushed: Any, owner: Any, member: Any) -> None:
    package = Package.objects.get(name=NAME)
    assert package_role(member, package) is None
    access_grant(package=package, user=owner, username="bob", role="read")
    assert package_role(member, package) == Role.READ
    access_revoke(package=package, user=owner, username="bob")
    assert package_role(member, package) is None
    assert AuditEvent.objects.filter(package=package, action="access", actor="alice").count() == 2


def test_a_member_who_is_not_admin_cannot_grant_access(pushed: Any, member: Any, outsider: Any) -> None:
    package = Package.objects.get(name=NAME)
    with pytest.raises(PermissionDenied):
        access_grant(package=package, user=member, username="bob", role="admin")
    with pytest.raises(PermissionDenied):
        access_grant(package=package, user=outsider, username="eve", role="admin")


def test_a_private_organization_package_cannot_be_shared_with_an_outsider(
    pushed: Any, owner: Any, outsider: Any
) -> None:
    package = Package.objects.get(name=NAME)
    with pytest.raises(ValidationError, match="only be shared with its members"):
        access_grant(package=package, user=owner, username="eve", role="read")
    package_set_visibility(package=package, user=owner, visibility="internal")
    access_grant(package=package, user=owner, username="eve", role="read")
    assert package_role(outsider, package) == Role.READ


def test_a_team_grant_gives_its_members_the_role(pushed: Any, owner: Any, member: Any) -> None:
    team = Team.objects.create(organization=Organization.objects.get(name="acme"), name="Ops", slug="ops")
    team.members.add(member)
    package = Package.objects.get(name=NAME)
    access_grant(package=package, user=owner, team="ops", role="write")
    assert package_role(member, package) == Role.WRITE


def test_the_settings_page_grants_access_for_admins_only(
    pushed: Any, owner: Any, member: Any, outsider: Any, client: Client
) -> None:
    url = f"/{NAME}/-/settings/access"
    client.force_login(outsider)
    assert client.post(url, {"username": "bob", "role": "read"}).status_code == 404
    client.force_login(member)
    assert client.post(url, {"username": "bob", "role": "read"}).status_code == 404  # bob cannot read it yet
    client.force_login(owner)
    assert client.post(url, {"username": "bob", "role": "read"}).status_code == 302
    page = client.get(f"/{NAME}/-/settings")
    assert b"bob" in page.content
    assert b'id="access"' in page.content
    assert b'id="audit"' in page.content
    client.force_login(member)
    assert client.post(url, {"username": "bob", "role": "admin"}).status_code == 403


# --- organization policy ------------------------------------------------------------------------


def test_members_get_the_most_private_visibility_the_organization_allows(owner: Any, member: Any) -> None:
    Organization.objects.filter(name="acme").update(member_visibilities=["internal", "public"])
    package = package_for_write(name="acme/bobs", user=member)
    assert package.visibility == "internal"
    with pytest.raises(ValidationError, match="does not let members"):
        package_set_visibility(package=package, user=owner if False else member, visibility="private")
    assert package_for_write(name="acme/alices", user=owner).visibility == "private"


def test_members_cannot_create_packages_when_no_visibility_is_allowed(owner: Any, member: Any, client: Client) -> None:
    Organization.objects.filter(name="acme").update(member_visibilities=[])
    image = make_image()
    token = make_pat(member, "write:packages")
    digest, data = next(iter(image.blobs.items()))
    response = client.post(
        f"/v2/acme/x/blobs/uploads/?digest={digest}",
        data=data,
        content_type="application/octet-stream",
        HTTP_AUTHORIZATION=basic("bob", token),
    )
    assert response.status_code == 403
    assert not Package.objects.filter(name="acme/x").exists()


def test_only_owners_change_the_organization_package_policy(
    owner: Any, member: Any, outsider: Any, client: Client
) -> None:
    data = {"member_visibilities": ["private"], "inherit_access_by_default": ""}
    client.force_login(outsider)
    assert client.post("/orgs/acme/package-policy", data).status_code == 404
    client.force_login(member)
    assert client.post("/orgs/acme/package-policy", data).status_code == 403
    client.force_login(owner)
    assert client.post("/orgs/acme/package-policy", data).status_code == 302
    organization = Organization.objects.get(name="acme")
    assert organization.member_visibilities == ["private"]
    assert organization.inherit_access_by_default is False
    assert package_for_write(name="acme/new", user=owner).inherit_access is False


# --- source label, inherited access -------------------------------------------------------------


def test_a_source_label_links_the_package_and_collaborators_inherit_access_until_turned_off(
    owner: Any, member: Any, outsider: Any, client: Client
) -> None:
    repository = repository_create(owner="acme", name="api", user=owner)
    carol = type(owner).objects.create_user("carol", "c@example.com", "x")
    collaborator_set(repository=repository, user=owner, username="carol", role="read")
    image = make_image(labels={"org.opencontainers.image.source": "https://registry.example/acme/api"})
    token = make_pat(owner, "write:packages")
    auth: dict[str, Any] = {"HTTP_AUTHORIZATION": basic("alice", token)}
    for digest, data in image.blobs.items():
        client.post(
            f"/v2/{NAME}/blobs/uploads/?digest={digest}", data=data, content_type="application/octet-stream", **auth
        )
    client.put(f"/v2/{NAME}/manifests/v1", data=image.manifest, content_type=image.media_type, **auth)
    manifest_extract_metadata(manifest_id=Manifest.objects.get(digest=image.digest).id)

    package = Package.objects.get(name=NAME)
    assert package.repository == repository
    assert package.inherit_access
    carols = basic("carol", make_pat(carol, "read:packages"))
    assert pull(client, "v1", carols).status_code == 200
    assert pull(client, "v1", basic("bob", make_pat(member, "read:packages"))).status_code == 404
    assert pull(client, "v1", basic("eve", make_pat(outsider, "read:packages"))).status_code == 404

    package_set_inheritance(package=package, user=owner, inherit=False)
    assert pull(client, "v1", carols).status_code == 404


def test_while_inheriting_the_packages_own_grants_are_not_used(pushed: Any, owner: Any, member: Any) -> None:
    package = Package.objects.get(name=NAME)
    access_grant(package=package, user=owner, username="bob", role="write")
    repository = repository_create(owner="acme", name="app", user=owner)
    package_link_repository(package=package, repository=repository, user=owner)
    assert package_role(member, Package.objects.get(name=NAME)) is None
    package_set_inheritance(package=package, user=owner, inherit=False)
    assert package_role(member, Package.objects.get(name=NAME)) == Role.WRITE


def test_a_label_naming_another_owners_repository_does_not_link(owner: Any, outsider: Any) -> None:
    repository_create(owner="acme", name="api", user=owner)
    package = package_for_write(name="eve/app", user=outsider)
    package_link_from_source_label(package=package, source_url="https://x.example/acme/api")
    assert Package.objects.get(name="eve/app").repository is None


def test_a_three_part_name_links_to_its_repository(owner: Any) -> None:
    repository = repository_create(owner="acme", name="api", user=owner)
    assert package_for_write(name="acme/api/server", user=owner).repository == repository
    assert package_for_write(name="acme/other/server", user=owner).repository is None


def test_the_repository_settings_link_and_unlink_for_admins(
    pushed: Any, owner: Any, member: Any, client: Client
) -> None:
    repository = repository_create(owner="acme", name="app", user=owner)
    access_grant(package=Package.objects.get(name=NAME), user=owner, username="bob", role="read")
    client.force_login(member)
    assert client.post(f"/{NAME}/-/settings/repository", {"repository": "acme/app"}).status_code == 403
    client.force_login(owner)
    client.post(f"/{NAME}/-/settings/repository", {"repository": "acme/app", "inherit": "on"})
    assert Package.objects.get(name=NAME).repository == repository
    assert b"inherits" in client.get(f"/{NAME}/-/settings").content
    client.post(f"/{NAME}/-/settings/repository", {"repository": ""})
    package = Package.objects.get(name=NAME)
    assert package.repository is None
    assert not package.inherit_access


# --- delete and restore -------------------------------------------------------------------------


def test_delete_then_restore_a_version_brings_back_its_digest_and_tags(pushed: Any, owner: Any, client: Client) -> None:
    one, _ = pushed
    token = basic("alice", make_pat(owner, "delete:packages"))
    manifest = Manifest.objects.get(digest=one.digest)
    missing = pull(client, "nope", token)
    version_delete(manifest=manifest, actor=Actor(user=owner))
    for reference in ("v1", "latest", one.digest):
        gone = pull(client, reference, token)
        assert (gone.status_code, gone.json()) == (404, missing.json() | gone.json())
        assert gone.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    assert pull(client, "v2", token).status_code == 200
    version_restore(manifest=manifest, actor=Actor(user=owner))
    assert sorted(Tag.objects.filter(manifest=manifest).values_list("name", flat=True)) == ["latest", "v1"]
    for reference in ("v1", "latest", one.digest):
        back = pull(client, reference, token)
        assert back.status_code == 200
        assert back.headers["Docker-Content-Digest"] == one.digest


def test_delete_then_restore_a_package_and_pulls_between_fail_as_for_a_missing_one(
    pushed: Any, owner: Any, client: Client
) -> None:
    one, two = pushed
    token = basic("alice", make_pat(owner, "delete:packages"))
    package = Package.objects.get(name=NAME)
    package_delete(package=package, actor=Actor(user=owner))
    ghost = client.get("/v2/acme/ghost/manifests/v1", HTTP_ACCEPT="*/*", HTTP_AUTHORIZATION=token)
    for reference in ("v1", two.digest):
        gone = pull(client, reference, token)
        assert (gone.status_code, gone.content) == (ghost.status_code, ghost.content) == (404, ghost.content)
    assert client.get(f"/{NAME}", HTTP_AUTHORIZATION=token).status_code == 404
    package_restore(package=Package.all_objects.get(id=package.id), actor=Actor(user=owner))
    assert pull(client, "v1", token).headers["Docker-Content-Digest"] == one.digest
    assert pull(client, "v2", token).headers["Docker-Content-Digest"] == two.digest


def test_a_package_cannot_be_restored_once_its_name_was_reused(pushed: Any, owner: Any) -> None:
    package = Package.objects.get(name=NAME)
    package_delete(package=package, actor=Actor(user=owner))
    package_for_write(name=NAME, user=owner)
    with pytest.raises(ValidationError, match="used again"):
        package_restore(package=Package.all_objects.get(id=package.id), actor=Actor(user=owner))


def test_a_package_cannot_be_restored_after_30_days(pushed: Any, owner: Any) -> None:
    package = Package.objects.get(name=NAME)
    package_delete(package=package, actor=Actor(user=owner))
    Package.all_objects.filter(id=package.id).update(deleted_at=timezone.now() - timedelta(days=31))
    with pytest.raises(ValidationError, match="30 days"):
        package_restore(package=Package.all_objects.get(id=package.id), actor=Actor(user=owner))


def test_only_admins_with_delete_scope_delete(pushed: Any, owner: Any, member: Any, outsider: Any) -> None:
    manifest = Manifest.objects.get(digest=pushed[0].digest)
    access_grant(package=manifest.package, user=owner, username="bob", role="write")
    for actor in (Actor(user=member), Actor(user=outsider), Actor(user=owner, scopes=frozenset({"write:packages"}))):
        with pytest.raises(PermissionDenied):
            version_delete(manifest=manifest, actor=actor)
    assert Manifest.objects.get(id=manifest.id).deleted_at is None


def test_a_public_version_with_more_than_5000_downloads_cannot_be_deleted(pushed: Any, owner: Any) -> None:
    manifest = Manifest.objects.get(digest=pushed[0].digest)
    DownloadCount.objects.create(manifest=manifest, day=timezone.localdate(), count=5001)
    version_delete(manifest=manifest, actor=Actor(user=owner))  # private: allowed
    version_restore(manifest=manifest, actor=Actor(user=owner))
    package_set_visibility(package=manifest.package, user=owner, visibility="public")
    with pytest.raises(DeleteRefused):
        version_delete(manifest=manifest, actor=Actor(user=owner))
    with pytest.raises(DeleteRefused):
        package_delete(package=Package.objects.get(name=NAME), actor=Actor(user=owner))


def test_the_registry_delete_is_the_same_soft_delete_and_audited(pushed: Any, owner: Any, client: Client) -> None:
    one, _ = pushed
    token = basic("alice", make_pat(owner, "delete:packages"))
    assert client.delete(f"/v2/{NAME}/manifests/{one.digest}", HTTP_AUTHORIZATION=token).status_code == 202
    manifest = Manifest.objects.get(digest=one.digest)
    assert manifest.deleted_at is not None
    assert manifest.deleted_tags == ["latest", "v1"]
    assert AuditEvent.objects.filter(action="version.delete", actor="alice").exists()
    version_restore(manifest=manifest, actor=Actor(user=owner))
    assert pull(client, "v1", token).status_code == 200


def test_garbage_collection_keeps_soft_deleted_content(pushed: Any, owner: Any, settings: Any) -> None:
    _one, _ = pushed
    package_delete(package=Package.objects.get(name=NAME), actor=Actor(user=owner))
    settings.WHARF_UPLOAD_TIMEOUT = 0  # no floor under the grace period of 0
    report = gc.garbage_collect(grace_seconds=0)
    assert report.blobs == []
    assert report.manifests == []


def test_the_pages_delete_and_restore_versions_and_packages(
    pushed: Any, owner: Any, member: Any, client: Client
) -> None:
    manifest = Manifest.objects.get(digest=pushed[0].digest)
    client.force_login(member)
    assert client.post(f"/{NAME}/-/versions/{manifest.id}/delete").status_code == 404
    client.force_login(owner)
    assert client.post(f"/{NAME}/-/versions/{manifest.id}/delete", {"confirm": "yes"}).status_code == 302
    assert b"Restore" in client.get(f"/{NAME}/-/versions?view=deleted").content
    client.post(f"/{NAME}/-/versions/{manifest.id}/restore", {"confirm": "yes"})
    assert Manifest.objects.get(id=manifest.id).deleted_at is None
    assert client.post(f"/{NAME}/-/settings/delete", {"confirm": "wrong"}).status_code == 302
    assert Package.objects.filter(name=NAME).exists()
    client.post(f"/{NAME}/-/settings/delete", {"confirm": NAME})
    assert not Package.objects.filter(name=NAME).exists()
    deleted = Package.all_objects.get(name=NAME)
    assert NAME.encode() in client.get("/acme/-/deleted").content
    client.post(f"/acme/-/deleted/{deleted.id}/restore")
    assert Package.objects.filter(name=NAME).exists()


# --- audit log ----------------------------------------------------------------------------------


def test_the_audit_log_records_push_delete_restore_and_visibility(
    pushed: Any, owner: Any, member: Any, client: Client
) -> None:
    package = Package.objects.get(name=NAME)
    manifest = Manifest.objects.get(digest=pushed[0].digest)
    version_delete(manifest=manifest, actor=Actor(user=owner))
    version_restore(manifest=manifest, actor=Actor(user=owner))
    package_set_visibility(package=package, user=owner, visibility="internal")
    actions = set(AuditEvent.objects.filter(package=package).values_list("action", flat=True))
    assert {"push", "version.delete", "version.restore", "visibility"} <= actions
    client.force_login(member)
    assert client.get("/orgs/acme/audit").status_code == 403
    client.force_login(owner)
    page = client.get("/orgs/acme/audit")
    assert page.status_code == 200
    assert b'<td data-label="What">Deleted a version</td>' in page.content
    assert b">version.delete<" not in page.content  # the label, not the code (the filter's option values are codes)
