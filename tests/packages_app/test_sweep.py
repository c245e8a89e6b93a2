"""The orphan sweep (issue 14): paged, resumable, paced, one sweeper at a time, on both stores."""

from __future__ import annotations

import hashlib
import time
from io import StringIO
from typing import Any

from django.core.management import call_command

from packages_app import sweep, uploads
from packages_app.models import StoreSweep, Upload
from packages_app.names import Digest
from packages_app.storage import BlobStore, blob_store
from packages_app.uploads import Chunk
from tests.packages_app.conftest import Backend

NAME = "acme/app"
EMPTY = Digest("sha256", hashlib.sha256(b"").hexdigest())


def crashed_commits(store: BlobStore, count: int) -> list[str]:
    """Keys committed by uploads whose process died before writing the row."""
    keys = []
    for _ in range(count):
        upload = uploads.upload_start(name=NAME)
        keys.append(store.commit(str(upload.id), upload.storage_state, EMPTY))
        Upload.objects.filter(id=upload.id).delete()
    return sorted(keys)


def test_a_sweep_stopped_after_a_page_resumes_where_it_was(registry: Any, backend: Backend, store: BlobStore) -> None:
    for n in range(3):
        assert registry.push_blob(NAME, f"kept {n}".encode()).status_code == 201
    orphans = crashed_commits(store, 4)
    in_progress = uploads.upload_start(name=NAME)
    uploads.upload_append(name=NAME, upload_id=str(in_progress.id), chunk=Chunk([b"partial"]))
    listing = list(store.stored_keys())
    assert listing == sorted(listing)
    assert len(listing) == 7  # in order, without the session's area
    first = sweep.sweep_orphans(page_size=3, max_pages=1, keys_per_second=0)
    assert (first.pages, first.keys_seen, first.finished) == (1, 3, False)
    place = StoreSweep.objects.get()
    assert place.after_key == listing[2]  # saved after the page
    assert first.orphan_keys == [key for key in listing[:3] if key in orphans]
    rest = sweep.sweep_orphans(page_size=3, keys_per_second=0)
    assert rest.finished
    assert first.keys_seen + rest.keys_seen == 7  # each key listed once
    assert sorted(first.orphan_keys + rest.orphan_keys) == orphans
    assert StoreSweep.objects.get().after_key == ""  # the next sweep starts from the beginning
    assert len(list(store.stored_keys())) == 3
    finished = uploads.upload_finish(name=NAME, upload_id=str(in_progress.id), digest=digest_of(b"partial"))
    assert backend.read(finished.storage_key) == b"partial"  # the session's bytes were never touched


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_the_sweep_keeps_its_pace(registry: Any, monkeypatch: Any) -> None:
    crashed_commits(blob_store(), 4)
    pauses: list[float] = []
    monkeypatch.setattr(time, "sleep", pauses.append)  # the module sweep paces itself with
    report = sweep.sweep_orphans(page_size=2, keys_per_second=4)
    assert report.finished
    assert len(report.orphan_keys) == 4
    assert len(pauses) == 2
    assert all(0 < pause <= 0.5 for pause in pauses)  # 2 keys at 4/s: half a second a page, in all


def test_a_dry_run_lists_and_keeps_and_the_command_says_where_it_stopped(registry: Any, store: BlobStore) -> None:
    orphans = crashed_commits(store, 2)
    assert sweep.sweep_orphans(dry_run=True, keys_per_second=0).orphan_keys == orphans
    assert sorted(store.stored_keys()) == orphans
    out = StringIO()
    call_command("sweep_store", "--page-size", "1", "--pages", "1", "--keys-per-second", "0", stdout=out)
    assert (
        out.getvalue().splitlines()[-1]
        == "1 key(s) in 1 page(s), 1 orphan(s); stopped part-way (the next sweep resumes there)"
    )


def test_a_second_sweeper_finds_the_place_taken(registry: Any, monkeypatch: Any) -> None:
    StoreSweep.objects.create(id=1)
    monkeypatch.setattr(StoreSweep.objects, "select_for_update", lambda **kw: StoreSweep.objects.none())
    report = sweep.sweep_orphans(keys_per_second=0)
    assert report.busy
    assert report.pages == 0
