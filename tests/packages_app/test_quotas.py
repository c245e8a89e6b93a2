"""Storage quotas' usage (``packages_app.quotas``): the bytes of the distinct blobs an owner's packages
hold — a blob shared by versions or packages counts once, configs and layers count, uploads awaiting
their manifest count, deleted versions and packages do not, garbage collection takes what it frees."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from packages_app import quotas
from packages_app.access import ANONYMOUS
from packages_app.gc import garbage_collect
from packages_app.models import Blob, BlobReview, Manifest, Package, PackageBlob, StorageQuota
from packages_app.services import versions
from tests.oci import Image, layer_tar, make_image


def sizes(image: Image) -> int:
    return sum(len(data) for data in image.blobs.values())


def distinct(*images: Image) -> int:
    blobs: dict[str, bytes] = {}
    for image in images:
        blobs.update(image.blobs)
    return sum(len(data) for data in blobs.values())


BASE = layer_tar({"base.txt": b"the shared base layer\n" * 50})


def two_images() -> tuple[Image, Image]:
    first = make_image(layers=[BASE, layer_tar({"a.txt": b"first\n" * 30})], seed="a")
    second = make_image(layers=[BASE, layer_tar({"b.txt": b"second\n" * 40})], seed="b")
    return first, second


def test_usage_is_the_distinct_blobs_of_the_owners_packages(registry: Any) -> None:
    first, second = two_images()
    assert registry.push_image("acme/app", first, "v1").status_code == 201
    assert registry.push_image("acme/tools/builder", second, "v1").status_code == 201
    assert registry.push_image("acme/app", second, "v2").status_code == 201  # the same blobs again
    usage = quotas.usage_of("acme")
    assert usage.used_bytes == distinct(first, second) < sizes(first) + sizes(second)
    assert usage.used_bytes == sum(Blob.objects.values_list("size", flat=True))  # each blob once
    assert usage.limit_bytes == 0
    assert not usage.limited
    assert usage.source == "default"


def test_other_owners_blobs_do_not_count_and_a_shared_blob_counts_for_each_owner(registry: Any) -> None:
    first, second = two_images()
    registry.push_image("acme/app", first, "v1")
    registry.push_image("acme2/app", second, "v1")
    assert quotas.usage_of("acme").used_bytes == sizes(first)
    assert quotas.usage_of("acme2").used_bytes == sizes(second)  # BASE counts for both owners
    assert quotas.usage_of("nobody").used_bytes == 0


def test_an_upload_awaiting_its_manifest_counts(registry: Any) -> None:
    data = b"a layer whose manifest is still to come" * 10
    assert registry.push_blob("acme/app", data).status_code == 201
    assert quotas.usage_of("acme").used_bytes == len(data)


def test_deleting_a_version_reduces_usage_but_not_below_what_others_still_use(registry: Any) -> None:
    first, second = two_images()
    registry.push_image("acme/app", first, "v1")
    registry.push_image("acme/app", second, "v2")
    versions.version_delete(manifest=Manifest.objects.get(digest=second.digest), actor=ANONYMOUS)
    assert quotas.usage_of("acme").used_bytes == sizes(first)  # BASE is still first's
    versions.version_delete(manifest=Manifest.objects.get(digest=first.digest), actor=ANONYMOUS)
    assert quotas.usage_of("acme").used_bytes == 0
    assert Blob.objects.count() == len({*first.blobs, *second.blobs})  # the bytes are kept for a restore


def test_a_restored_version_counts_again(registry: Any) -> None:
    first, _ = two_images()
    registry.push_image("acme/app", first, "v1")
    manifest = Manifest.objects.get(digest=first.digest)
    versions.version_delete(manifest=manifest, actor=ANONYMOUS)
    Manifest.objects.filter(id=manifest.id).update(deleted_at=None)  # as version_restore does, without access
    assert quotas.usage_of("acme").used_bytes == sizes(first)


def test_a_deleted_package_does_not_count(registry: Any) -> None:
    first, second = two_images()
    registry.push_image("acme/app", first, "v1")
    registry.push_image("acme/other", second, "v1")
    Package.objects.filter(name="acme/other").update(deleted_at=timezone.now())
    assert quotas.usage_of("acme").used_bytes == sizes(first)


def test_garbage_collection_of_an_abandoned_upload_reduces_usage(registry: Any) -> None:
    first, _ = two_images()
    registry.push_image("acme/app", first, "v1")
    abandoned = b"pushed, never used by a manifest" * 20
    registry.push_blob("acme/app", abandoned)
    assert quotas.usage_of("acme").used_bytes == sizes(first) + len(abandoned)
    old = timezone.now() - timedelta(days=1)
    Blob.objects.update(created_at=old)
    PackageBlob.objects.update(created_at=old)
    BlobReview.objects.update(queued_at=old)
    report = garbage_collect()
    assert report.bytes_freed == len(abandoned)
    assert quotas.usage_of("acme").used_bytes == sizes(first)


def test_the_limit_is_the_default_unless_a_site_admin_set_one(registry: Any, settings: Any) -> None:
    settings.WHARF_QUOTA_DEFAULT_BYTES = 1000
    assert (quotas.usage_of("acme").limit_bytes, quotas.usage_of("acme").source) == (1000, "default")
    StorageQuota.objects.create(namespace="acme", limit_bytes=5000)
    assert (quotas.usage_of("acme").limit_bytes, quotas.usage_of("acme").source) == (5000, "namespace")
    StorageQuota.objects.filter(namespace="acme").update(limit_bytes=0)
    assert not quotas.usage_of("acme").limited  # 0 on the namespace: no limit, whatever the default
    assert quotas.usage_of("acme2").limit_bytes == 1000


def test_human_bytes() -> None:
    assert quotas.human_bytes(512) == "512 B"
    assert quotas.human_bytes(1536) == "1.5 KiB"
    assert quotas.human_bytes(1024**3) == "1.0 GiB"
