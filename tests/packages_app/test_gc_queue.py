"""Garbage collection whose cost follows what changed (issue 14): the review queue the triggers fill,
what one run reads on a large registry, two workers at once, a worker killed at the worst moments,
and the HEAD that pushes a review forward."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from packages_app import gc, storage
from packages_app.models import Blob, BlobReview, Manifest, Package, PackageBlob, StoreDeletion
from packages_app.storage_check import storage_check
from tests.e2e.conftest import server_database_url
from tests.oci import make_image, sha256

NAME = "acme/app"
BIG_TABLES = ("packages_app_blob", "packages_app_packageblob", "packages_app_manifest_blobs", "packages_app_blobreview")


def age(*, seconds: int = 7200) -> None:
    old = timezone.now() - timedelta(seconds=seconds)
    Blob.objects.update(created_at=old)
    PackageBlob.objects.update(created_at=old)
    BlobReview.objects.update(queued_at=old)


def upload(registry: Any, *blobs: bytes) -> None:
    for data in blobs:
        assert registry.push_blob(NAME, data).status_code == 201


@pytest.fixture
def postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row-lock and statistics behaviour of PostgreSQL (CI runs on it)")


def test_triggers_queue_a_stored_blob_and_each_removed_reference(registry: Any) -> None:
    image = make_image()
    assert registry.push_image(NAME, image, "latest").status_code == 201
    assert set(BlobReview.objects.values_list("blob__digest", flat=True)) == set(image.blobs)  # stored
    BlobReview.objects.all().delete()  # reviewed: referenced
    Manifest.objects.filter(digest=image.digest).delete()  # the row's references go (as a purge does)
    assert set(BlobReview.objects.values_list("blob__digest", flat=True)) == set(image.blobs)
    BlobReview.objects.all().delete()
    PackageBlob.objects.filter(blob__digest=sha256(image.config)).delete()
    assert list(BlobReview.objects.values_list("blob__digest", flat=True)) == [sha256(image.config)]


def test_a_referenced_blob_leaves_the_queue_and_a_young_link_makes_it_due_later(registry: Any) -> None:
    image = make_image()
    assert registry.push_image(NAME, image, "latest").status_code == 201
    upload(registry, b"loose")
    age()
    PackageBlob.objects.filter(blob__digest=sha256(b"loose")).update(created_at=timezone.now())  # mounted again
    assert gc.garbage_collect().blobs == []
    review = BlobReview.objects.get()  # the image's blobs are referenced: out of the queue
    assert review.blob.digest == sha256(b"loose")
    assert review.queued_at == PackageBlob.objects.get(blob=review.blob).created_at  # due a grace period after
    age()
    assert gc.garbage_collect().blobs == [sha256(b"loose")]
    assert not BlobReview.objects.exists()


def test_a_head_of_a_queued_blob_pushes_its_review_forward(registry: Any) -> None:
    """HEAD, collection, manifest PUT: the HEAD starts the grace period again, so the PUT finds its blob."""
    image = make_image()
    for data in image.blobs.values():
        upload(registry, data)
    age()
    for digest in image.blobs:
        assert registry.client.head(f"/v2/{NAME}/blobs/{digest}").status_code == 200
    assert gc.garbage_collect().blobs == []
    assert registry.push_manifest(NAME, "latest", image.manifest, image.media_type).status_code == 201
    age()
    assert gc.garbage_collect().blobs == []
    assert Blob.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_one_run_on_100000_blobs_with_10_dereferenced_reads_about_10_rows(
    postgres: None, settings: Any, blob_dir: Path
) -> None:
    _generate_registry(blobs=100_000, per_manifest=10)
    doomed = Manifest.objects.order_by("id")[500]
    keys = list(Blob.objects.filter(manifests=doomed).values_list("storage_key", flat=True))
    for key in keys:
        (blob_dir / key).parent.mkdir(parents=True, exist_ok=True)
        (blob_dir / key).write_bytes(b"x")
    Manifest.objects.filter(id=doomed.id).delete()  # 10 blobs lose their only reference
    BlobReview.objects.update(queued_at=timezone.now() - timedelta(days=1))  # their grace period is over
    before = _rows_read()
    with CaptureQueriesContext(connection) as queries:
        report = gc.garbage_collect(grace_seconds=3600)
    read = {table: n - before[table] for table, n in _rows_read().items()}
    assert len(report.blobs) == 10
    assert Blob.objects.count() == 99_990
    assert not any((blob_dir / key).exists() for key in keys)
    assert len(queries) <= 10 * 14 + 10, len(queries)  # a short transaction per blob
    assert sum(read.values()) <= 10 * 10, read  # O(10), not O(100000)
    print(f"\n10^5 blobs, 10 dereferenced: {len(queries)} queries, rows read per table {read}")


def _generate_registry(*, blobs: int, per_manifest: int) -> None:
    """``blobs`` old blobs, each linked to one package and referenced by exactly one of
    ``blobs / per_manifest`` manifests, as the previous run left them (reviewed: nothing queued)."""
    package = Package.objects.create(name=NAME, namespace="acme", visibility="public")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO packages_app_blob (digest, size, storage_key, created_at) "
            "SELECT 'sha256:' || lpad(to_hex(g), 64, '0'), 1, "
            "'_blobs/' || lpad(to_hex(g %% 256), 2, '0') || '/k' || g, "
            "now() - interval '2 days' FROM generate_series(1, %s) g",
            [blobs],
        )
        cursor.execute(
            "INSERT INTO packages_app_packageblob (package_id, blob_id, created_at) "
            "SELECT %s, id, now() - interval '2 days' FROM packages_app_blob",
            [package.id],
        )
        cursor.execute(
            "INSERT INTO packages_app_manifest (package_id, digest, media_type, size, content, artifact_type, "
            "config_media_type, config_digest, subject_digest, annotations, foreign_urls, labels, platforms, "
            "created_at, deleted_tags) SELECT %s, 'sha256:m' || g, 'application/vnd.oci.image.manifest.v1+json', "
            "2, '{}', '', '', '', '', '{}', '[]', '{}', '[]', now() - interval '2 days', '[]' "
            "FROM generate_series(0, %s - 1) g",
            [package.id, blobs // per_manifest],
        )
        cursor.execute(
            "INSERT INTO packages_app_manifest_blobs (manifest_id, blob_id) "
            "SELECT m.id, b.id FROM packages_app_blob b JOIN packages_app_manifest m "
            "ON m.digest = 'sha256:m' || ((b.id - (SELECT min(id) FROM packages_app_blob)) / %s)",
            [per_manifest],
        )
        cursor.execute("DELETE FROM packages_app_blobreview")
        for table in BIG_TABLES:
            cursor.execute(f"ANALYZE {table}")


def _rows_read() -> dict[str, int]:
    """Rows PostgreSQL read from each big table so far (sequential scans plus index fetches)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT relname, coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) FROM pg_stat_user_tables "
            "WHERE relname = ANY(%s)",
            [list(BIG_TABLES)],
        )
        return dict(cursor.fetchall())


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_never_collect_the_same_blob_twice(
    postgres: None, registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload(registry, *(f"blob {n}".encode() for n in range(40)))
    age()
    deleted: list[str] = []
    store = storage.blob_store()
    real_delete = store.delete

    def counting_delete(key: str) -> None:
        deleted.append(key)
        real_delete(key)

    monkeypatch.setattr(store, "delete", counting_delete)
    reports: list[gc.GcReport] = []
    workers = [threading.Thread(target=_collect_into, args=(reports, store)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    first, second = (set(report.blobs) for report in reports)
    assert not first & second
    assert len(first | second) == 40
    assert first
    assert second  # both took part, each blob once
    assert len(deleted) == len(set(deleted)) == 40
    assert not Blob.objects.exists()
    assert not BlobReview.objects.exists()
    assert not StoreDeletion.objects.exists()


def _collect_into(reports: list[gc.GcReport], store: Any) -> None:
    try:
        reports.append(gc.garbage_collect(store=store))
    finally:
        connection.close()


KILLER = """
import os, signal, django
django.setup()
from packages_app import gc, models, storage
def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
if os.environ["KILL_AT"] == "commit":
    models.StoreDeletion.objects.bulk_create = die  # inside the transaction, rows already deleted
else:
    storage.FileSystemBlobStore.delete = die  # after the commit, before the bytes go
gc.garbage_collect()
"""


@pytest.fixture
def killed_worker(postgres: None, registry: Any, tmp_path: Path) -> Callable[[str], int]:
    def run(kill_at: str) -> int:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WHARF_", "DATABASE_URL"))}
        env |= {"DATABASE_URL": server_database_url(), "WHARF_DATA_DIR": str(tmp_path), "KILL_AT": kill_at}
        env |= {"DJANGO_SETTINGS_MODULE": "registry_site.settings", "WHARF_GC_GRACE_SECONDS": "600"}
        done = subprocess.run([sys.executable, "-c", KILLER], env=env, timeout=60, capture_output=True)
        return done.returncode

    return run


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kill_at", ["commit", "bytes"])
def test_a_worker_killed_mid_collection_leaves_nothing_half_done(
    killed_worker: Any, registry: Any, blob_dir: Path, kill_at: str
) -> None:
    upload(registry, b"garbage")
    blob = Blob.objects.get()
    age()
    assert killed_worker(kill_at) == -signal.SIGKILL
    if kill_at == "commit":  # rolled back: the row, its link and its review are all still there
        assert Blob.objects.filter(id=blob.id).exists()
        assert BlobReview.objects.filter(blob_id=blob.id).exists()
        assert PackageBlob.objects.filter(blob_id=blob.id).exists()
    else:  # committed: the rows are gone and the bytes are recorded for deletion
        assert not Blob.objects.exists()
        assert not BlobReview.objects.exists()
        assert list(StoreDeletion.objects.values_list("storage_key", flat=True)) == [blob.storage_key]
    assert (blob_dir / blob.storage_key).exists()
    gc.garbage_collect()  # the next run finishes it
    assert not Blob.objects.exists()
    assert not StoreDeletion.objects.exists()
    assert not BlobReview.objects.exists()
    assert not (blob_dir / blob.storage_key).exists()
    assert storage_check().consistent


def test_a_blob_locked_by_a_push_is_left_for_the_next_run(registry: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    upload(registry, b"busy")
    age()
    real = gc._decide
    monkeypatch.setattr(gc, "_decide", lambda *a: (_ for _ in ()).throw(AssertionError("decided a busy blob")))
    monkeypatch.setattr(Blob.objects, "select_for_update", _locked_elsewhere)
    report = gc.garbage_collect()
    assert report.blobs == []
    assert report.skipped == 1
    assert BlobReview.objects.count() == 1
    monkeypatch.undo()
    assert gc._decide is real
    assert gc.garbage_collect().blobs == [sha256(b"busy")]


def _locked_elsewhere(*args: Any, **kwargs: Any) -> Any:
    raise OperationalError("could not obtain lock on row")
