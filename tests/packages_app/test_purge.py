"""Deleted packages and versions are removed for good WHARF_DELETED_RETENTION_DAYS after their deletion
(issue 6, "Deleted packages"): rows only; the blobs they alone used go with the next garbage collection.

alice owns ``acme``; the images are pushed to an open registry (anonymous pushes allowed)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from packages_app import gc, purge, selectors, tasks
from packages_app.access import Actor
from packages_app.exceptions import NameUnknown
from packages_app.models import (
    AuditEvent,
    Blob,
    BlobReview,
    DownloadCount,
    Manifest,
    Package,
    PackageBlob,
    PackagePermission,
    RetentionRule,
    Tag,
)
from packages_app.services import packages as package_services
from packages_app.services.grants import access_grant
from packages_app.services.manifests import manifest_delete
from packages_app.services.packages import package_delete, package_restore
from packages_app.services.versions import version_restore
from packages_app.storage_check import storage_check
from tests.oci import OCI_INDEX, Image, make_image, make_index, sha256

NAME = "acme/app"
OTHER = "acme/other"


@pytest.fixture
def shared(registry: Any, owner: Any, member: Any) -> tuple[Image, Image]:
    """acme/app:latest and acme/other:latest, two images sharing their layer; bob may read acme/app."""
    layers = make_image().layers
    mine, theirs = make_image(layers=layers, labels={"n": "mine"}), make_image(layers=layers, labels={"n": "theirs"})
    assert registry.push_image(NAME, mine).status_code == 201
    assert registry.push_image(OTHER, theirs).status_code == 201
    package = Package.objects.get(name=NAME)
    access_grant(package=package, user=owner, username="bob", role="read")
    RetentionRule.objects.create(package=package, keep_newest=5)
    DownloadCount.objects.create(manifest=Manifest.objects.get(digest=mine.digest), day=timezone.localdate(), count=3)
    return mine, theirs


def delete_package(owner: Any, name: str = NAME, *, days_ago: int) -> Package:
    package = package_delete(package=Package.objects.get(name=name), actor=Actor(user=owner))
    Package.all_objects.filter(id=package.id).update(deleted_at=timezone.now() - timedelta(days=days_ago))
    return Package.all_objects.get(id=package.id)


def delete_version(image: Image, *, days_ago: int, name: str = NAME) -> Manifest:
    manifest = Manifest.objects.get(package__name=name, digest=image.digest)
    manifest_delete(name=name, digest=image.digest)
    Manifest.objects.filter(id=manifest.id).update(deleted_at=timezone.now() - timedelta(days=days_ago))
    return Manifest.objects.get(id=manifest.id)


def age_blobs() -> None:
    """Every blob and repository link older than the garbage collector's grace period."""
    old = timezone.now() - timedelta(hours=2)
    Blob.objects.update(created_at=old)
    PackageBlob.objects.update(created_at=old)
    BlobReview.objects.update(queued_at=old)


def stored_files(blob_dir: Path) -> int:
    return sum(1 for p in blob_dir.rglob("*") if p.is_file())


def test_a_package_deleted_31_days_ago_is_removed_for_good_but_its_audit_log_stays(
    shared: tuple[Image, Image], owner: Any
) -> None:
    package = delete_package(owner, days_ago=31)
    report = purge.purge_deleted()
    assert (report.packages, report.manifests, report.skipped) == ([NAME], [], 0)
    assert not Package.all_objects.filter(id=package.id).exists()
    for model in (Manifest, Tag, PackageBlob, PackagePermission, RetentionRule):
        assert not model.objects.filter(package_id=package.id).exists(), model
    assert not DownloadCount.objects.exists()
    events = AuditEvent.objects.filter(package_name=NAME)
    assert {"push", "access", "package.delete"} <= set(events.values_list("action", flat=True))
    assert not events.exclude(package=None).exists()
    assert Package.objects.filter(name=OTHER).exists()


def test_a_purged_package_cannot_be_restored(shared: tuple[Image, Image], owner: Any) -> None:
    stale = delete_package(owner, days_ago=31)
    purge.purge_deleted()
    assert selectors.packages_deleted(namespace="acme", user=owner) == []
    with pytest.raises(NameUnknown):
        selectors.package_deleted(name=NAME, user=owner)
    with pytest.raises(ValidationError, match="30 days"):
        package_restore(package=stale, actor=Actor(user=owner))
    assert not Package.all_objects.filter(name=NAME).exists()


def test_the_next_collection_takes_the_purged_packages_own_blobs_and_keeps_shared_ones(
    registry: Any, shared: tuple[Image, Image], owner: Any, blob_dir: Path, settings: Any
) -> None:
    mine, theirs = shared
    delete_package(owner, days_ago=31)
    timeout, settings.WHARF_UPLOAD_TIMEOUT = (
        settings.WHARF_UPLOAD_TIMEOUT,
        0,
    )  # no floor under the grace period of 0 (no push is in progress)
    assert gc.garbage_collect(grace_seconds=0).blobs == []  # not purged yet: its versions still refer to them
    purge.purge_deleted()
    settings.WHARF_UPLOAD_TIMEOUT = timeout
    assert Blob.objects.count() == 3
    assert stored_files(blob_dir) == 3  # the purge deletes rows only
    assert gc.garbage_collect().blobs == []  # pushed within the grace period ...
    age_blobs()  # ... and after it
    report = gc.garbage_collect()
    assert report.blobs == [sha256(mine.config)]
    assert sorted(Blob.objects.values_list("digest", flat=True)) == sorted(theirs.blobs)
    assert stored_files(blob_dir) == 2
    for digest, data in theirs.blobs.items():
        response = registry.client.get(f"/v2/{OTHER}/blobs/{digest}")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == data
    assert storage_check(verify=True).consistent


def test_a_package_deleted_29_days_ago_is_kept_and_can_be_restored(
    registry: Any, shared: tuple[Image, Image], owner: Any
) -> None:
    mine, _ = shared
    package = delete_package(owner, days_ago=29)
    report = purge.purge_deleted()
    assert report.packages == []
    assert report.manifests == []
    age_blobs()
    assert gc.garbage_collect().blobs == []
    package_restore(package=package, actor=Actor(user=owner))
    response = registry.client.get(f"/v2/{NAME}/manifests/latest", HTTP_ACCEPT="*/*")
    assert response.status_code == 200
    assert response.headers["Docker-Content-Digest"] == mine.digest


def test_a_dry_run_lists_what_would_go_and_removes_nothing(shared: tuple[Image, Image], owner: Any) -> None:
    mine, theirs = shared
    delete_package(owner, days_ago=31)
    version = delete_version(theirs, name=OTHER, days_ago=40)
    lines: list[str] = []
    report = purge.purge_deleted(dry_run=True, progress=lines.append)
    assert (report.packages, report.manifests) == ([NAME], [f"{OTHER}@{theirs.digest}"])
    assert lines[0].startswith(f"would remove package {NAME} (deleted ")
    assert lines[1].startswith(f"would remove deleted manifest {OTHER}@{theirs.digest} (deleted ")
    assert lines[-1].startswith("would remove 1 package(s) and 1 deleted manifest(s) for good")
    assert Package.all_objects.filter(name=NAME).exists()
    assert Manifest.objects.filter(id=version.id).exists()
    assert Manifest.objects.filter(digest=mine.digest).exists()


def test_a_deleted_version_older_than_the_limit_is_removed_and_live_and_recent_ones_stay(
    registry: Any, owner: Any
) -> None:
    old, recent, live = make_image(seed="old"), make_image(seed="recent"), make_image(seed="live")
    for image, tag in ((old, "v1"), (recent, "v2"), (live, "v3")):
        assert registry.push_image(NAME, image, tag).status_code == 201
    delete_version(old, days_ago=31)
    kept = delete_version(recent, days_ago=29)
    report = purge.purge_deleted()
    assert (report.packages, report.manifests) == ([], [f"{NAME}@{old.digest}"])
    assert set(Manifest.objects.values_list("digest", flat=True)) == {recent.digest, live.digest}
    assert Package.objects.filter(name=NAME).exists()
    version_restore(manifest=kept, actor=Actor(user=owner))
    for tag, image in (("v2", recent), ("v3", live)):
        response = registry.client.get(f"/v2/{NAME}/manifests/{tag}", HTTP_ACCEPT="*/*")
        assert response.status_code == 200
        assert response.headers["Docker-Content-Digest"] == image.digest
    age_blobs()
    assert sorted(gc.garbage_collect().blobs) == sorted(old.blobs)


def test_a_deleted_index_goes_with_its_platform_images_but_a_platform_image_of_a_live_index_stays(
    registry: Any,
) -> None:
    amd, arm = make_image(arch="amd64"), make_image(arch="arm64")
    for image in (amd, arm):
        assert registry.push_image(NAME, image, None).status_code == 201
    dropped, live = (
        make_index([(amd, {"os": "linux", "architecture": "amd64"})]),
        make_index([(arm, {"os": "linux", "architecture": "arm64"})]),
    )
    for body, tag in ((dropped, "old"), (live, "new")):
        assert registry.push_manifest(NAME, tag, body, OCI_INDEX).status_code == 201
    manifest_delete(name=NAME, digest=sha256(dropped))  # takes its own platform image along
    manifest_delete(name=NAME, digest=arm.digest)  # a platform image of the live index
    Manifest.objects.exclude(deleted_at=None).update(deleted_at=timezone.now() - timedelta(days=31))
    report = purge.purge_deleted()
    assert sorted(report.manifests) == sorted([f"{NAME}@{sha256(dropped)}", f"{NAME}@{amd.digest}"])
    assert report.skipped == 1
    index = Manifest.objects.get(digest=sha256(live))
    assert list(index.children.values_list("digest", flat=True)) == [arm.digest]


def test_the_limit_is_the_setting_for_purging_and_restoring(
    shared: tuple[Image, Image], owner: Any, settings: Any
) -> None:
    settings.WHARF_DELETED_RETENTION_DAYS = 7
    package = delete_package(owner, days_ago=8)
    with pytest.raises(ValidationError, match="for 7 days"):
        package_restore(package=package, actor=Actor(user=owner))
    assert selectors.packages_deleted(namespace="acme", user=owner) == []
    assert purge.purge_deleted(now=timezone.now() - timedelta(days=2)).packages == []  # then, 6 days after
    assert purge.purge_deleted().packages == [NAME]


def test_the_beat_schedule_purges_daily(settings: Any) -> None:
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "packages_app.tasks.purge_deleted"]
    assert [e["schedule"] for e in entries] == [86400.0]


def test_the_task_purges_and_counts(shared: tuple[Image, Image], owner: Any) -> None:
    _, theirs = shared
    delete_package(owner, days_ago=31)
    delete_version(theirs, name=OTHER, days_ago=31)
    assert tasks.purge_deleted() == {"packages": 1, "manifests": 1}
    assert tasks.purge_deleted() == {"packages": 0, "manifests": 0}


def test_the_command_prints_a_line_per_item_and_a_dry_run_keeps_everything(
    shared: tuple[Image, Image], owner: Any
) -> None:
    delete_package(owner, days_ago=31)
    call_command("purge_deleted", "--dry-run", stdout=(out := StringIO()))
    lines = out.getvalue().splitlines()
    assert lines[0] == "restorable for: 30 day(s)"
    assert lines[1].startswith(f"would remove package {NAME} (deleted ")
    assert Package.all_objects.filter(name=NAME).exists()
    call_command("purge_deleted", stdout=(out := StringIO()))
    lines = out.getvalue().splitlines()
    assert lines[1].startswith(f"removed package {NAME} (deleted ")
    assert lines[-1].startswith("removed 1 package(s) and 0 deleted manifest(s) for good; 0 skipped")
    assert not Package.all_objects.filter(name=NAME).exists()


def test_a_restore_that_loses_the_race_with_the_purge_fails_cleanly(
    shared: tuple[Image, Image], owner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The restore checked the date just before the limit; the purge removed the package meanwhile."""
    stale = delete_package(owner, days_ago=31)
    purge.purge_deleted()
    monkeypatch.setattr(package_services, "_restorable", lambda deleted_at: True)
    with pytest.raises(ValidationError, match="can be restored for 30 days"):
        package_restore(package=stale, actor=Actor(user=owner))
    assert not Package.all_objects.filter(name=NAME).exists()
    assert not AuditEvent.objects.filter(action="package.restore").exists()
