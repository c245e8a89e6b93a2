"""Upload services on both stores: every call gets a new store object, as if each request of a chunked
upload landed on another worker process."""

from __future__ import annotations

import hashlib
import random
import tracemalloc
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from packages_app import upload_expiry, uploads
from packages_app.exceptions import BlobUploadInvalid, DigestInvalid
from packages_app.models import Blob, Upload
from packages_app.uploads import Chunk
from tests.packages_app.conftest import PART_SIZE, Backend

pytestmark = pytest.mark.django_db

MIB = 1024 * 1024
NAME = "acme/app"


def blob(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha512(data: bytes) -> str:
    return "sha512:" + hashlib.sha512(data).hexdigest()


def pieces(data: bytes, size: int = MIB) -> Iterator[bytes]:
    """A request body as the views hand it over."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def start(backend: Backend) -> str:
    return str(uploads.upload_start(name=NAME, store=backend.new()).id)


def append(backend: Backend, upload_id: str, data: bytes) -> Upload:
    return uploads.upload_append(name=NAME, upload_id=upload_id, chunk=Chunk(pieces(data)), store=backend.new())


def finish(backend: Backend, upload_id: str, digest: str, data: bytes = b"") -> Blob:
    return uploads.upload_finish(
        name=NAME, upload_id=upload_id, digest=digest, chunk=Chunk(pieces(data)), store=backend.new()
    )


def assert_stored(backend: Backend, blob_row: Blob, data: bytes) -> None:
    """The Blob row and the stored bytes agree with ``data``; nothing else is left in the store."""
    algorithm, hex_digest = blob_row.digest.split(":")
    stored = backend.read(blob_row.storage_key)
    assert hashlib.new(algorithm, stored).hexdigest() == hex_digest
    assert stored == data
    assert blob_row.size == len(data)
    assert backend.keys() == [blob_row.storage_key]
    assert backend.multipart_uploads() == []
    assert not Upload.objects.exists()


def assert_nothing_stored(backend: Backend) -> None:
    assert not Blob.objects.exists()
    assert not Upload.objects.exists()
    assert backend.keys() == []
    assert backend.multipart_uploads() == []


def test_a_monolithic_upload_stores_a_verified_blob(backend: Backend) -> None:
    data = blob(PART_SIZE + 123)
    row = uploads.blob_upload_monolithic(name=NAME, digest=sha256(data), chunk=Chunk(pieces(data), length=len(data)))
    assert row.digest == sha256(data)
    assert_stored(backend, row, data)


def test_a_monolithic_upload_with_the_wrong_digest_stores_nothing(backend: Backend) -> None:
    data = blob(PART_SIZE + 123)
    with pytest.raises(DigestInvalid):
        uploads.blob_upload_monolithic(name=NAME, digest=sha256(b"other"), chunk=Chunk(pieces(data), length=len(data)))
    assert_nothing_stored(backend)


CHUNKINGS = {
    "crossing part boundaries": [3 * MIB, 4 * MIB, 9 * MIB, 1],
    "exactly parts": [PART_SIZE, PART_SIZE],
    "small chunks": [10, 20, 30],
    "one large chunk": [2 * PART_SIZE + 7],
}


@pytest.mark.parametrize("sizes", CHUNKINGS.values(), ids=CHUNKINGS.keys())
def test_a_chunked_upload_resumed_by_other_processes_stores_a_verified_blob(backend: Backend, sizes: list[int]) -> None:
    chunks = [blob(size, seed) for seed, size in enumerate(sizes)]
    upload_id, offset = start(backend), 0
    for chunk in chunks:
        offset += len(chunk)
        assert append(backend, upload_id, chunk).offset == offset
        assert Upload.objects.get(id=upload_id).offset == offset
    data = b"".join(chunks)
    assert_stored(backend, finish(backend, upload_id, sha256(data)), data)


def test_the_last_chunk_may_come_with_the_digest(backend: Backend) -> None:
    first, last = blob(4 * MIB), blob(3 * MIB, 1)
    upload_id = start(backend)
    append(backend, upload_id, first)
    row = finish(backend, upload_id, sha256(first + last), last)
    assert_stored(backend, row, first + last)


def test_the_empty_blob_can_be_uploaded(backend: Backend) -> None:
    row = finish(backend, start(backend), sha256(b""))
    assert row.digest == sha256(b"")
    assert_stored(backend, row, b"")


def failing(data: bytes, after: int) -> Iterator[bytes]:
    """A request body whose connection drops after ``after`` bytes."""
    yield data[:after]
    raise ConnectionResetError("client went away")


@pytest.mark.parametrize("dies_after", [100, 6 * MIB], ids=["before a part", "after a part"])
def test_a_chunk_that_dies_half_way_can_be_sent_again(backend: Backend, dies_after: int) -> None:
    first, second = blob(3 * MIB), blob(8 * MIB, 1)
    upload_id = start(backend)
    append(backend, upload_id, first)
    with pytest.raises(ConnectionResetError):
        uploads.upload_append(
            name=NAME, upload_id=upload_id, chunk=Chunk(failing(second[::-1], dies_after)), store=backend.new()
        )
    assert Upload.objects.get(id=upload_id).offset == len(first)
    assert Upload.objects.get(id=upload_id).lease_token is None
    assert append(backend, upload_id, second).offset == len(first) + len(second)
    assert_stored(backend, finish(backend, upload_id, sha256(first + second)), first + second)


def test_a_chunk_shorter_than_its_length_is_not_recorded(backend: Backend) -> None:
    first, second = blob(MIB), blob(MIB, 1)
    upload_id = start(backend)
    append(backend, upload_id, first)
    with pytest.raises(BlobUploadInvalid):
        uploads.upload_append(
            name=NAME, upload_id=upload_id, chunk=Chunk(pieces(second[:100]), length=len(second)), store=backend.new()
        )
    assert Upload.objects.get(id=upload_id).offset == len(first)
    append(backend, upload_id, second)
    assert_stored(backend, finish(backend, upload_id, sha256(first + second)), first + second)


def test_a_wrong_digest_leaves_no_blob_and_no_bytes(backend: Backend) -> None:
    data = blob(PART_SIZE + 1)
    upload_id = start(backend)
    append(backend, upload_id, data)
    with pytest.raises(DigestInvalid):
        finish(backend, upload_id, sha256(data + b"x"))
    assert_nothing_stored(backend)


def test_a_sha512_digest_is_verified_on_a_sha256_session(backend: Backend) -> None:
    data = blob(PART_SIZE + 99)
    upload_id = start(backend)
    append(backend, upload_id, data)
    row = finish(backend, upload_id, sha512(data))
    assert row.digest == sha512(data)
    assert_stored(backend, row, data)


def test_a_wrong_sha512_digest_leaves_no_blob_and_no_bytes(backend: Backend) -> None:
    data = blob(PART_SIZE + 99)
    upload_id = start(backend)
    append(backend, upload_id, data)
    with pytest.raises(DigestInvalid):
        finish(backend, upload_id, sha512(data + b"x"))
    assert_nothing_stored(backend)


def test_a_false_sha512_claim_does_not_touch_the_blob_it_names(backend: Backend) -> None:
    genuine, forged = blob(1000), blob(1000, 1)
    row = finish(backend, start(backend), sha512(genuine), genuine)
    upload_id = start(backend)
    with pytest.raises(DigestInvalid):
        finish(backend, upload_id, sha512(genuine), forged)
    assert_stored(backend, Blob.objects.get(), genuine)
    assert Blob.objects.get().storage_key == row.storage_key


def test_a_false_sha512_claim_on_stored_content_keeps_that_content(backend: Backend) -> None:
    data = blob(1000)
    row = finish(backend, start(backend), sha256(data), data)
    with pytest.raises(DigestInvalid):
        finish(backend, start(backend), sha512(b"something else"), data)
    assert_stored(backend, Blob.objects.get(), data)
    assert Blob.objects.get().storage_key == row.storage_key


def test_the_same_content_uploaded_twice_is_stored_once(backend: Backend) -> None:
    data = blob(PART_SIZE + 5)
    first = finish(backend, start(backend), sha256(data), data)
    second = finish(backend, start(backend), sha256(data), data)
    assert first.pk == second.pk
    assert Blob.objects.count() == 1
    assert_stored(backend, second, data)


def test_cancel_removes_the_partial_data(backend: Backend) -> None:
    upload_id = start(backend)
    append(backend, upload_id, blob(PART_SIZE + 7))
    append(backend, upload_id, blob(100, 1))
    uploads.upload_cancel(name=NAME, upload_id=upload_id, store=backend.new())
    assert_nothing_stored(backend)


def test_expiry_removes_idle_sessions_with_their_partial_data(backend: Backend) -> None:
    idle, active = start(backend), start(backend)
    append(backend, idle, blob(PART_SIZE + 7))
    append(backend, active, blob(10, 1))
    Upload.objects.filter(id=idle).update(updated_at=timezone.now() - timedelta(hours=1))
    assert upload_expiry.uploads_expire(idle_seconds=600, store=backend.new()).sessions == [idle]
    assert list(Upload.objects.values_list("id", flat=True)) == [Upload.objects.get(id=active).id]
    row = finish(backend, active, sha256(blob(10, 1)))
    assert_stored(backend, row, blob(10, 1))


def test_expiry_leaves_a_session_whose_writer_holds_the_lease(backend: Backend) -> None:
    upload_id = start(backend)
    append(backend, upload_id, blob(10))
    Upload.objects.filter(id=upload_id).update(
        updated_at=timezone.now() - timedelta(hours=1),
        lease_token="00000000-0000-0000-0000-000000000001",
        lease_until=timezone.now() + timedelta(seconds=10),
    )
    assert upload_expiry.uploads_expire(idle_seconds=600, store=backend.new()).sessions == []
    assert Upload.objects.filter(id=upload_id).exists()


def counted(total: int, digest: hashlib._Hash) -> Iterator[bytes]:
    """``total`` bytes made on the fly, one MiB at a time, hashed into ``digest`` as they go."""
    block = blob(MIB)
    for number in range(total // MIB):
        data = number.to_bytes(8, "big") + block[8:]
        digest.update(data)
        yield data


def test_a_large_upload_keeps_memory_flat(backend: Backend) -> None:
    upload_id = start(backend)
    expected = hashlib.sha256()
    store = backend.new()
    store.exists("warm-up")  # the S3 client loads its service model once per process: not per upload
    tracemalloc.start()
    try:
        uploads.upload_append(name=NAME, upload_id=upload_id, chunk=Chunk(counted(64 * MIB, expected)), store=store)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * PART_SIZE
    row = finish(backend, upload_id, "sha256:" + expected.hexdigest())
    assert row.size == 64 * MIB
    assert hashlib.sha256(backend.read(row.storage_key)).hexdigest() == expected.hexdigest()
