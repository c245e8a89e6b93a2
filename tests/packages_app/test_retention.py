"""Retention rules (issue 6): keep the N newest versions, delete untagged versions older than D days, never
touch protected tags; what a kept version needs stays; the preview; garbage collection applies them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from packages_app import gc, retention
from packages_app.admin import RetentionRuleForm
from packages_app.models import Blob, BlobReview, Manifest, Package, PackageBlob, RetentionRule, Tag
from packages_app.services.manifests import manifest_delete
from tests.oci import OCI_INDEX, Image, make_image, make_index, sha256

NAME = "acme/app"


def push(registry: Any, image: Image, tag: str | None, days_old: int) -> Image:
    assert registry.push_image(NAME, image, tag).status_code == 201
    when = timezone.now() - timedelta(days=days_old)
    Manifest.objects.filter(digest=image.digest).update(created_at=when)
    Tag.objects.filter(manifest__digest=image.digest).update(updated_at=when)
    return image


def version(n: int) -> Image:
    return make_image(labels={"n": str(n)})


def rule(**fields: Any) -> RetentionRule:
    return RetentionRule.objects.create(package=Package.objects.get(name=NAME), **fields)


def planned(**fields: Any) -> set[str]:
    return {
        p.digest
        for p in retention.retention_preview(rule=RetentionRule(package=Package.objects.get(name=NAME), **fields))
    }


def age_blobs() -> None:
    old = timezone.now() - timedelta(days=1)
    Blob.objects.update(created_at=old)
    PackageBlob.objects.update(created_at=old)
    BlobReview.objects.update(queued_at=old)


@pytest.fixture
def four(registry: Any) -> list[Image]:
    """v4 (newest, tagged latest) ... v1 (oldest); v3 is untagged, v1 is tagged ``release-1``."""
    return [
        push(registry, version(4), "latest", 1),
        push(registry, version(3), None, 10),
        push(registry, version(2), "dev-2", 20),
        push(registry, version(1), "release-1", 30),
    ]


def test_no_rules_delete_nothing(four: list[Image], settings: Any) -> None:
    package = Package.objects.get(name=NAME)
    assert retention.retention_plan(package=package) == []
    settings.WHARF_UPLOAD_TIMEOUT = 0  # no floor under the grace period of 0
    assert gc.garbage_collect(grace_seconds=0).manifests == []


def test_keep_newest_deletes_older_versions_tagged_or_not(four: list[Image]) -> None:
    assert planned(keep_newest=2) == {four[2].digest, four[3].digest}
    assert planned(keep_newest=0) == {i.digest for i in four}
    assert planned(keep_newest=10) == set()


def test_protected_tag_patterns_are_never_touched(four: list[Image]) -> None:
    assert planned(keep_newest=1, protected_tags="release-*, latest") == {four[1].digest, four[2].digest}
    assert planned(keep_newest=0, protected_tags="*") == {four[1].digest}  # the untagged one has no tag to match


def test_untagged_older_than_days_deletes_only_old_untagged_versions(four: list[Image]) -> None:
    assert planned(untagged_older_than_days=5) == {four[1].digest}
    assert planned(untagged_older_than_days=11) == set()


def test_a_kept_index_keeps_its_platform_images_and_a_deleted_one_takes_them_along(registry: Any) -> None:
    amd, arm = make_image(arch="amd64"), make_image(arch="arm64")
    for image in (amd, arm):
        push(registry, image, None, 40)
    old_index = make_index([(amd, {"os": "linux", "architecture": "amd64"})])
    new_index = make_index([(arm, {"os": "linux", "architecture": "arm64"})])
    for body, tag in ((old_index, "old"), (new_index, "new")):
        assert registry.push_manifest(NAME, tag, body, OCI_INDEX).status_code == 201
    Manifest.objects.filter(digest=sha256(old_index)).update(created_at=timezone.now() - timedelta(days=9))
    Tag.objects.filter(name="old").update(updated_at=timezone.now() - timedelta(days=9))
    plan = retention.retention_plan(package=Package.objects.get(name=NAME), rules=[RetentionRule(keep_newest=1)])
    assert [p.digest for p in plan] == [sha256(old_index), amd.digest]  # the index before its platform image
    assert plan[0].tags == ("old",)


def test_referrers_stay_with_a_kept_subject_and_go_with_a_deleted_one(registry: Any) -> None:
    kept, dropped = push(registry, version(2), "latest", 1), push(registry, version(1), None, 30)
    signatures = [
        make_image(subject=s.descriptor(), artifact_type="application/vnd.example.sig", seed=str(i))
        for i, s in enumerate((kept, dropped))
    ]
    for signature in signatures:
        push(registry, signature, None, 30)
    assert planned(untagged_older_than_days=7) == {dropped.digest, signatures[1].digest}


def test_a_referrer_whose_subject_is_not_here_is_a_version_of_its_own(registry: Any) -> None:
    absent = version(99)
    orphan_signature = make_image(subject=absent.descriptor(), artifact_type="application/vnd.example.sig")
    push(registry, orphan_signature, None, 30)
    assert planned(untagged_older_than_days=7) == {orphan_signature.digest}
    assert planned(untagged_older_than_days=60) == set()


def test_collection_applies_the_rules_then_collects_their_blobs(four: list[Image]) -> None:
    rule(keep_newest=2, protected_tags="release-*")
    age_blobs()
    dry = gc.garbage_collect(dry_run=True)
    assert dry.manifests == [f"{NAME}@{four[2].digest}"]
    assert dry.blobs == [sha256(four[2].config)]  # the layer is shared with the kept versions
    assert Manifest.objects.count() == 4
    report = gc.garbage_collect()
    assert (report.manifests, report.blobs, report.bytes_freed) == (dry.manifests, dry.blobs, dry.bytes_freed)
    assert set(Manifest.objects.values_list("digest", flat=True)) == {four[0].digest, four[1].digest, four[3].digest}
    assert not Tag.objects.filter(name="dev-2").exists()


def test_disabled_rules_do_nothing(four: list[Image], settings: Any) -> None:
    rule(keep_newest=0, enabled=False)
    settings.WHARF_UPLOAD_TIMEOUT = 0  # no floor under the grace period of 0
    assert gc.garbage_collect(grace_seconds=0).manifests == []


def test_nothing_pushed_within_the_grace_period_is_deleted(registry: Any, four: list[Image]) -> None:
    fresh = push(registry, version(5), None, 0)
    rule(keep_newest=0)
    report = gc.garbage_collect(grace_seconds=3600)
    assert fresh.digest not in {m.split("@")[1] for m in report.manifests}
    assert len(report.manifests) == 4
    assert Manifest.objects.filter(digest=fresh.digest).exists()


def test_a_tag_pushed_after_the_plan_keeps_the_manifest(
    registry: Any, four: list[Image], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The re-check under the row lock: a push tagged the version between planning and deleting."""
    rule(untagged_older_than_days=5)
    real = retention.retention_plan  # what gc calls, before the test replaces it there

    def then_a_tag(**kwargs: Any) -> Iterator[retention.Planned]:
        plan = real(**kwargs)
        assert registry.push_manifest(NAME, "rescued", four[1].manifest, four[1].media_type).status_code == 201
        return iter(plan)

    monkeypatch.setattr(gc, "retention_plan", then_a_tag)
    report = gc.garbage_collect()
    assert report.manifests == []
    assert report.skipped == 1
    assert Manifest.objects.filter(digest=four[1].digest).exists()


def test_the_admin_form_previews_instead_of_saving(four: list[Image]) -> None:
    package = Package.objects.get(name=NAME)
    data = {
        "package": package.id,
        "keep_newest": 3,
        "untagged_older_than_days": "",
        "protected_tags": "",
        "enabled": True,
    }
    form = RetentionRuleForm(data=data | {"preview": True})
    assert not form.is_valid()
    text = " ".join(str(e) for e in form.non_field_errors())
    assert "would delete 1 manifest(s)" in text
    assert four[3].digest in text
    assert "release-1" in text
    assert not RetentionRule.objects.exists()
    form = RetentionRuleForm(data=data)
    assert form.is_valid(), form.errors
    form.save()
    assert RetentionRule.objects.get().keep_newest == 3


def test_the_admin_pages_edit_rules(admin_client: Any, four: list[Image]) -> None:
    package = Package.objects.get(name=NAME)
    assert admin_client.get("/admin/packages_app/retentionrule/add/").status_code == 200
    data = {
        "package": package.id,
        "keep_newest": 1,
        "untagged_older_than_days": "",
        "protected_tags": "",
        "enabled": "on",
    }
    preview = admin_client.post("/admin/packages_app/retentionrule/add/", data | {"preview": "on"})
    assert preview.status_code == 200
    assert b"would delete 3 manifest(s)" in preview.content
    assert admin_client.post("/admin/packages_app/retentionrule/add/", data).status_code == 302
    assert admin_client.get(f"/admin/packages_app/package/{package.id}/change/").status_code == 200


def test_soft_deleted_versions_are_neither_counted_nor_planned(registry: Any, four: list[Image]) -> None:
    """v4 (the newest) is deleted and restorable: the two newest live versions are v3 and v2, and v4's
    row is left for the purge (a restore must still find it)."""
    manifest_delete(name=NAME, digest=four[0].digest)
    assert planned(keep_newest=2) == {four[3].digest}
    assert planned(keep_newest=0) == {i.digest for i in four[1:]}
    assert planned(untagged_older_than_days=0) == {four[1].digest}  # v4 lost its tag, but is no version
    rule(keep_newest=0)
    age_blobs()
    report = gc.garbage_collect(grace_seconds=0)
    assert f"{NAME}@{four[0].digest}" not in report.manifests
    assert len(report.manifests) == 3
    assert Manifest.objects.get(digest=four[0].digest).deleted_at is not None
    assert set(Blob.objects.values_list("digest", flat=True)) == set(four[0].blobs)
