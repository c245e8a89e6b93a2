"""Online garbage collection (issue 6): the grace period, references, dry runs, the race with a manifest
push (MANIFEST_BLOB_UNKNOWN, never a manifest with a missing blob), orphan bytes, the consistency check."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from packages_app import gc, reviews, sweep, tasks, uploads
from packages_app.models import Blob, BlobReview, Manifest, PackageBlob, Upload
from packages_app.names import Digest
from packages_app.storage import blob_store
from packages_app.storage_check import storage_check
from packages_app.uploads import Chunk
from tests.oci import Image, make_image, sha256
from tests.packages_app.conftest import Backend

NAME = "acme/app"
OTHER = "acme/other"


def age(*, seconds: int = 7200) -> None:
    """Make every blob, link and queued review ``seconds`` old."""
    old = timezone.now() - timedelta(seconds=seconds)
    Blob.objects.update(created_at=old)
    PackageBlob.objects.update(created_at=old)
    BlobReview.objects.update(queued_at=old)


def upload_blobs(registry: Any, image: Image, name: str = NAME) -> None:
    for digest, data in image.blobs.items():
        assert registry.push_blob(name, data, digest).status_code == 201


def pull_blob(registry: Any, digest: str, name: str = NAME) -> bytes:
    response = registry.client.get(f"/v2/{name}/blobs/{digest}")
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content)


def stored_files(blob_dir: Any) -> list[str]:
    return sorted(str(p.relative_to(blob_dir)) for p in blob_dir.rglob("*") if p.is_file())


def test_an_unreferenced_blob_within_the_grace_period_survives(registry: Any) -> None:
    image = make_image()
    upload_blobs(registry, image)
    report = gc.garbage_collect()
    assert report.blobs == []
    assert Blob.objects.count() == 2
    assert registry.push_manifest(NAME, "latest", image.manifest, image.media_type).status_code == 201


def test_an_unreferenced_blob_older_than_the_grace_period_goes_with_its_bytes(registry: Any, blob_dir: Any) -> None:
    image = make_image()
    upload_blobs(registry, image)
    age()
    report = gc.garbage_collect()
    assert sorted(report.blobs) == sorted(image.blobs)
    assert report.bytes_freed == sum(len(d) for d in image.blobs.values())
    assert not Blob.objects.exists()
    assert not PackageBlob.objects.exists()
    assert stored_files(blob_dir) == []


def test_a_young_link_keeps_an_old_blob(registry: Any) -> None:
    """The blob row is old, but it was uploaded (or mounted) again into a repository just now."""
    image = make_image()
    upload_blobs(registry, image)
    age()
    upload_blobs(registry, image, OTHER)  # renews nothing in NAME, links anew in OTHER
    assert gc.garbage_collect().blobs == []
    age()
    upload_blobs(registry, image)  # an existing link is renewed
    assert gc.garbage_collect().blobs == []
    assert PackageBlob.objects.count() == 4


def test_the_grace_period_is_never_shorter_than_the_upload_timeout(settings: Any) -> None:
    settings.WHARF_UPLOAD_TIMEOUT, settings.WHARF_GC_GRACE_SECONDS = 600, 60
    assert reviews.gc_grace_seconds() == 600
    settings.WHARF_GC_GRACE_SECONDS = 3600
    assert reviews.gc_grace_seconds() == 3600


def test_the_gc_command_cannot_go_below_the_upload_timeout(registry: Any, settings: Any) -> None:
    """``gc --grace-seconds 0`` would collect the finished layers of a push whose manifest is still to come."""
    settings.WHARF_UPLOAD_TIMEOUT, settings.WHARF_GC_GRACE_SECONDS = 600, 600
    image = make_image()
    upload_blobs(registry, image)
    age(seconds=300)
    out = StringIO()
    call_command("gc", "--grace-seconds", "0", stdout=out)
    assert "grace period: 600s (raised to the upload timeout" in out.getvalue()
    assert Blob.objects.count() == 2
    assert PackageBlob.objects.count() == 2
    age(seconds=601)
    call_command("gc", "--grace-seconds", "0", stdout=StringIO())
    assert not Blob.objects.exists()


def test_the_gc_task_argument_cannot_go_below_the_upload_timeout(registry: Any, settings: Any) -> None:
    settings.WHARF_UPLOAD_TIMEOUT, settings.WHARF_GC_GRACE_SECONDS = 600, 600
    image = make_image()
    upload_blobs(registry, image)
    age(seconds=300)
    assert tasks.collect_garbage(grace_seconds=0)["blobs"] == 0
    assert gc.garbage_collect(grace_seconds=0).blobs == []
    assert Blob.objects.count() == 2
    assert tasks.collect_garbage(grace_seconds=7200)["blobs"] == 0  # a longer one is honoured
    age(seconds=601)
    assert tasks.collect_garbage(grace_seconds=0)["blobs"] == 2


def test_blobs_any_manifest_refers_to_are_kept_with_their_links(registry: Any) -> None:
    shared = make_image().layers
    tagged, untagged = make_image(layers=shared, seed="t"), make_image(layers=shared, arch="arm64")
    assert registry.push_image(NAME, tagged, "latest").status_code == 201
    assert registry.push_image(OTHER, untagged, None).status_code == 201
    age()
    report = gc.garbage_collect()
    assert report.blobs == []
    assert report.manifests == []
    assert Manifest.objects.count() == 2  # untagged manifests are kept when there are no rules
    for digest, data in untagged.blobs.items():
        assert pull_blob(registry, digest, OTHER) == data


def test_a_deleted_manifest_leaves_its_blobs_to_collection_but_not_blobs_others_share(registry: Any) -> None:
    shared = make_image().layers
    first, second = make_image(layers=shared, labels={"n": "1"}), make_image(layers=shared, labels={"n": "2"})
    registry.push_image(NAME, first, "one")
    registry.push_image(NAME, second, "two")
    # A deleted version stays restorable for 30 days (its blobs with it); this is what remains once its
    # row is finally removed.
    Manifest.objects.filter(package__name=NAME, digest=first.digest).delete()
    age()
    report = gc.garbage_collect()
    assert report.blobs == [sha256(first.config)]
    assert sorted(Blob.objects.values_list("digest", flat=True)) == sorted(second.blobs)


def test_a_dry_run_lists_what_would_go_and_the_bytes_and_removes_nothing(registry: Any, blob_dir: Any) -> None:
    image = make_image()
    upload_blobs(registry, image)
    age()
    before = stored_files(blob_dir)
    lines: list[str] = []
    report = gc.garbage_collect(dry_run=True, progress=lines.append)
    assert sorted(report.blobs) == sorted(image.blobs)
    assert report.bytes_freed == sum(len(d) for d in image.blobs.values())
    assert Blob.objects.count() == 2
    assert stored_files(blob_dir) == before
    assert sum("would delete blob" in line for line in lines) == 2
    assert f"would free {report.bytes_freed} bytes" in lines[-1]


def test_a_manifest_pushed_after_a_collection_removed_its_blob_is_manifest_blob_unknown(registry: Any) -> None:
    """The race, made deterministic: the blobs are uploaded, collection runs, then the manifest arrives."""
    image = make_image()
    upload_blobs(registry, image)
    age()
    assert len(gc.garbage_collect().blobs) == 2
    response = registry.push_manifest(NAME, "latest", image.manifest, image.media_type)
    assert response.status_code == 400
    assert {e["code"] for e in response.json()["errors"]} == {"MANIFEST_BLOB_UNKNOWN"}
    assert not Manifest.objects.exists()
    assert registry.push_image(NAME, image).status_code == 201  # the client uploads again
    for digest, data in image.blobs.items():
        assert pull_blob(registry, digest) == data


def test_a_reference_committed_after_the_review_was_taken_keeps_the_blob(
    registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The references are checked once the blob and its links are locked, not when the review was taken."""
    image = make_image()
    upload_blobs(registry, image)
    age()
    real = gc._decide

    def then_a_push(review: BlobReview, *args: Any) -> Blob | None:
        if not Manifest.objects.exists():
            assert registry.push_manifest(NAME, "latest", image.manifest, image.media_type).status_code == 201
            age()  # the links are old too: only the manifest's reference can save the blobs
        return real(review, *args)

    monkeypatch.setattr(gc, "_decide", then_a_push)
    report = gc.garbage_collect()
    assert report.blobs == []
    assert PackageBlob.objects.count() == 2
    assert not BlobReview.objects.exists()  # referenced: out of the queue until a reference goes
    for digest, data in image.blobs.items():
        assert pull_blob(registry, digest) == data


def test_an_upload_of_the_same_bytes_during_collection_keeps_its_own_bytes(
    registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Collection deletes the old row's key while a new upload of the same content has just committed
    its own key: the new blob's bytes survive (keys are unique per upload)."""
    data = b"layer bytes" * 100
    assert registry.push_blob(NAME, data).status_code == 201
    old_key = Blob.objects.get().storage_key
    age()
    real = uploads._publish_blob

    def collect_first(*args: Any) -> Blob:
        assert gc.garbage_collect().blobs == [sha256(data)]
        return real(*args)

    monkeypatch.setattr(uploads, "_publish_blob", collect_first)
    assert registry.push_blob(NAME, data).status_code == 201
    blob = Blob.objects.get()
    assert blob.storage_key != old_key
    assert pull_blob(registry, sha256(data)) == data
    assert storage_check(verify=True).consistent


def test_stored_bytes_without_a_row_go_but_uploads_in_progress_stay(registry: Any, backend: Backend) -> None:
    store = blob_store()
    in_progress = uploads.upload_start(name=NAME)
    uploads.upload_append(name=NAME, upload_id=str(in_progress.id), chunk=Chunk([b"partial"]))
    crashed = uploads.upload_start(name=NAME)
    store.commit(str(crashed.id), crashed.storage_state, Digest("sha256", hashlib.sha256(b"").hexdigest()))
    Upload.objects.filter(id=crashed.id).delete()  # as if the process died after committing
    orphan = next(iter(store.stored_keys()))
    assert storage_check().orphan_keys == [orphan]
    assert sweep.sweep_orphans(keys_per_second=0).orphan_keys == [orphan]
    assert list(store.stored_keys()) == []
    finished = uploads.upload_finish(name=NAME, upload_id=str(in_progress.id), digest=sha256(b"partial"))
    assert backend.read(finished.storage_key) == b"partial"


def test_collection_works_on_both_stores(registry: Any, backend: Backend) -> None:
    image = make_image()
    upload_blobs(registry, image)
    kept = make_image(seed="kept")
    assert registry.push_image(NAME, kept).status_code == 201
    age()
    assert sorted(gc.garbage_collect().blobs) == sorted(image.blobs)
    assert backend.keys() == sorted(Blob.objects.values_list("storage_key", flat=True))
    assert storage_check(verify=True).consistent


def test_the_consistency_check_reports_each_kind_of_problem(registry: Any, blob_dir: Any) -> None:
    good, missing, corrupt = b"good", b"missing", b"corrupt"
    for data in (good, missing, corrupt):
        assert registry.push_blob(NAME, data).status_code == 201
    (blob_dir / Blob.objects.get(digest=sha256(missing)).storage_key).unlink()
    (blob_dir / Blob.objects.get(digest=sha256(corrupt)).storage_key).write_bytes(b"tampered")
    (blob_dir / "_blobs" / "zz").mkdir(parents=True)
    (blob_dir / "_blobs" / "zz" / "stray").write_bytes(b"stray")
    report = storage_check(verify=True)
    assert (report.orphan_keys, report.missing, report.corrupt) == (
        ["_blobs/zz/stray"],
        [sha256(missing)],
        [sha256(corrupt)],
    )
    assert storage_check().corrupt == []  # hashing only with --verify
    with pytest.raises(CommandError, match="1 blob\\(s\\) without rows, 1 row\\(s\\) without blobs, 1 digest"):
        call_command("check_storage", "--verify", stdout=StringIO())


def test_the_check_command_says_consistent(registry: Any) -> None:
    registry.push_image(NAME, make_image())
    out = StringIO()
    call_command("check_storage", "--verify", stdout=out)
    assert out.getvalue().strip().splitlines()[-1].startswith("consistent: 0 blob(s) without rows")


def test_the_gc_command_prints_a_line_per_item_and_a_dry_run_keeps_everything(registry: Any) -> None:
    upload_blobs(registry, make_image())
    age()
    out = StringIO()
    call_command("gc", "--dry-run", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "grace period: 600s"
    assert sum(line.startswith("would delete blob sha256:") for line in lines) == 2
    assert Blob.objects.count() == 2
    call_command("gc", stdout=(out := StringIO()))
    assert sum(line.startswith("deleted blob sha256:") for line in out.getvalue().splitlines()) == 2
    assert not Blob.objects.exists()


def test_beat_schedules_expiry_collection_extraction_the_purge_and_the_sweep(settings: Any) -> None:
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert tasks == {
        "packages_app.tasks.expire_uploads",
        "packages_app.tasks.collect_garbage",
        "packages_app.tasks.extract_pending_metadata",
        "packages_app.tasks.purge_deleted",
        "packages_app.tasks.sweep_orphans",
    }


def test_the_task_collects(registry: Any) -> None:
    image = make_image()
    upload_blobs(registry, image)
    age()
    size = sum(len(d) for d in image.blobs.values())
    assert tasks.collect_garbage() == {"manifests": 0, "blobs": 2, "bytes": size}


def test_sha512_and_sha256_rows_of_the_same_bytes_are_collected_separately(registry: Any) -> None:
    data = b"same bytes"
    sha512 = "sha512:" + hashlib.sha512(data).hexdigest()
    assert registry.push_blob(NAME, data).status_code == 201
    assert registry.push_blob(NAME, data, sha512).status_code == 201
    first, second = Blob.objects.order_by("id")
    assert first.storage_key != second.storage_key
    age()
    Blob.objects.filter(id=second.id).update(created_at=timezone.now())
    assert gc.garbage_collect().blobs == [sha256(data)]
    assert pull_blob(registry, sha512) == data
