"""Upload sessions under faults, on both stores (issue 9, points 18 and 20): a request that died between
committing an upload's bytes and writing its Blob row, a worker killed between opening a session's row
and its store area, and upload data nothing owns."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from packages_app import upload_expiry, uploads
from packages_app.exceptions import BlobUploadUnknown, DigestInvalid
from packages_app.models import Blob, Upload
from packages_app.names import Digest
from packages_app.storage import BlobStore, blob_store
from packages_app.storage_check import storage_check
from packages_app.uploads import Chunk
from tests.oci import sha256
from tests.packages_app.conftest import PART_SIZE, Backend

pytestmark = pytest.mark.django_db
NAME = "acme/app"
DATA = bytes(range(256)) * (PART_SIZE // 256 + 3)  # more than one S3 part, with a tail


def committed_by_a_dying_request(backend: Backend, data: bytes) -> Upload:
    """A session whose PUT committed the bytes and then died before the Blob row (the crash window)."""
    upload = uploads.upload_start(name=NAME, store=backend.new())
    uploads.upload_append(name=NAME, upload_id=str(upload.id), chunk=Chunk([data]), store=backend.new())
    upload.refresh_from_db()
    backend.new().commit(str(upload.id), upload.storage_state, Digest("sha256", sha256(data)[7:]))
    return upload


def finish(backend: Backend, upload: Upload, digest: str, chunks: list[bytes] | None = None) -> Blob:
    return uploads.upload_finish(
        name=NAME, upload_id=str(upload.id), digest=digest, chunk=Chunk(chunks or []), store=backend.new()
    )


def test_a_retried_put_after_a_crash_at_the_commit_point_publishes_the_stored_bytes(backend: Backend) -> None:
    upload = committed_by_a_dying_request(backend, DATA)
    blob = finish(backend, upload, sha256(DATA))
    assert blob.digest == sha256(DATA)
    assert blob.size == len(DATA)
    assert backend.read(blob.storage_key) == DATA
    assert backend.keys() == [blob.storage_key]
    assert backend.multipart_uploads() == []
    assert not Upload.objects.exists()
    assert storage_check(verify=True).consistent


def test_a_retried_put_whose_stored_bytes_were_lost_starts_over(backend: Backend) -> None:
    upload = committed_by_a_dying_request(backend, DATA)
    store = backend.new()
    key = store.committed(str(upload.id), upload.storage_state)
    assert key is not None
    store.delete(key)
    with pytest.raises(BlobUploadUnknown):
        finish(backend, upload, sha256(DATA))
    assert not Upload.objects.exists()
    assert not Blob.objects.exists()
    assert backend.keys() == []
    assert backend.multipart_uploads() == []


def test_a_retried_put_with_another_digest_is_digest_invalid_and_stores_nothing(backend: Backend) -> None:
    upload = committed_by_a_dying_request(backend, DATA)
    with pytest.raises(DigestInvalid):
        finish(backend, upload, sha256(b"something else"))
    assert not Upload.objects.exists()
    assert not Blob.objects.exists()
    assert backend.keys() == []


def test_more_bytes_for_an_upload_already_committed_start_over(backend: Backend) -> None:
    upload = committed_by_a_dying_request(backend, DATA)
    with pytest.raises(BlobUploadUnknown):
        finish(backend, upload, sha256(DATA + b"more"), chunks=[b"more"])
    assert not Upload.objects.exists()
    assert backend.keys() == []


def test_a_patch_to_an_upload_already_committed_starts_over(backend: Backend) -> None:
    upload = committed_by_a_dying_request(backend, DATA[:100])
    with pytest.raises(BlobUploadUnknown):
        uploads.upload_append(name=NAME, upload_id=str(upload.id), chunk=Chunk([b"x" * PART_SIZE]), store=backend.new())
    assert not Upload.objects.exists()
    assert backend.keys() == []
    assert backend.multipart_uploads() == []


def test_a_session_row_exists_before_its_store_area(backend: Backend, monkeypatch: Any) -> None:
    store, seen = backend.new(), []
    real_start = store.start

    def start(upload_id: str) -> dict[str, Any]:
        seen.append(Upload.objects.filter(id=upload_id).exists())
        return real_start(upload_id)

    monkeypatch.setattr(store, "start", start)
    upload = uploads.upload_start(name=NAME, store=store)
    assert seen == [True]
    assert finish(backend, upload, sha256(b""), chunks=[]).size == 0


def test_a_session_whose_store_area_was_never_made_is_upload_unknown(backend: Backend) -> None:
    """A worker killed between the row and the store area: the client starts over, nothing is left."""
    upload = uploads.upload_start(name=NAME, store=backend.new())
    backend.new().discard_area(next(a for a in backend.new().upload_areas() if a.upload_id == str(upload.id)))
    with pytest.raises(BlobUploadUnknown):
        uploads.upload_append(name=NAME, upload_id=str(upload.id), chunk=Chunk([DATA]), store=backend.new())
    assert not Upload.objects.exists()
    assert backend.keys() == []
    assert backend.multipart_uploads() == []


def leak_an_area(store: BlobStore) -> str:
    """What a worker killed after opening the store area and before recording it leaves behind."""
    upload_id = str(uuid.uuid4())
    store.start(upload_id)
    return upload_id


def test_expiry_and_the_check_see_upload_data_no_session_owns(backend: Backend, settings: Any) -> None:
    """With a timeout of 0 every area is old enough; the session being written (a lease) is kept."""
    settings.WHARF_UPLOAD_TIMEOUT = 0
    store = backend.new()
    leaked = leak_an_area(store)
    time.sleep(1.1)  # Swift dates multipart uploads and objects to the second, rounded up: now they are past
    owned = uploads.upload_start(name=NAME, store=store)
    Upload.objects.filter(id=owned.id).update(lease_token=uuid.uuid4(), lease_until=timezone.now() + timedelta(hours=1))
    report = storage_check(store=store)
    assert report.leaked_uploads == [leaked]
    assert not report.consistent
    with pytest.raises(CommandError, match="1 upload area"):
        call_command("check_storage", stdout=StringIO())

    out = StringIO()
    call_command("expire_uploads", "--dry-run", stdout=out)
    assert f"would remove upload data {leaked} (no session owns it)" in out.getvalue()
    assert str(owned.id) not in out.getvalue()
    assert [a.upload_id for a in store.upload_areas()].count(leaked) >= 1  # the dry run removed nothing

    expired = upload_expiry.uploads_expire(store=store)
    assert expired.areas == [leaked]
    assert expired.sessions == []
    assert {a.upload_id for a in store.upload_areas()} == {str(owned.id)}
    assert backend.multipart_uploads() == ([owned.storage_state["mpu"]] if backend.name == "s3" else [])
    assert storage_check(store=store).consistent


def test_upload_data_younger_than_the_timeout_is_left_alone(settings: Any) -> None:
    """On the filesystem store only: moto reports every multipart upload as initiated in 2010."""
    settings.WHARF_UPLOAD_TIMEOUT = 600
    store = blob_store()
    leaked = leak_an_area(store)
    assert upload_expiry.uploads_expire(store=store).areas == []
    assert storage_check(store=store).consistent
    assert leaked in {a.upload_id for a in store.upload_areas()}
