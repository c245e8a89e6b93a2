"""The blob stores themselves, each test on the filesystem and on S3 (moto and Swift). Every chunk is
written by a new store object from the state the previous one returned, as another worker process would."""

from __future__ import annotations

import hashlib
import random
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from packages_app.names import Digest
from packages_app.storage import BlobStore, S3BlobStore
from tests.packages_app.conftest import BUCKET, PART_SIZE, Backend

MIB = 1024 * 1024


def blob(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def sha256(data: bytes) -> Digest:
    return Digest("sha256", hashlib.sha256(data).hexdigest())


def append(backend: Backend, upload_id: str, offset: int, state: dict[str, Any], data: bytes) -> dict[str, Any]:
    """One chunk through a fresh store object; returns the new committed state."""
    writer = backend.new().writer(upload_id, offset, state)
    for start in range(0, len(data), MIB):
        writer.write(data[start : start + MIB])
    return writer.finish()


def upload(backend: Backend, chunks: list[bytes], upload_id: str = "u1") -> str:
    state, offset = backend.new().start(upload_id), 0
    for chunk in chunks:
        state = append(backend, upload_id, offset, state, chunk)
        offset += len(chunk)
    return backend.new().commit(upload_id, state, sha256(b"".join(chunks)))


def stored(store: BlobStore, key: str) -> bytes:
    with store.open(key) as stream:
        return stream.read()


def assert_only(backend: Backend, *keys: str) -> None:
    """The store holds exactly ``keys``: no upload file, tail object or open multipart upload."""
    assert backend.keys() == sorted(keys)
    assert backend.multipart_uploads() == []


CHUNKINGS = {
    "one small chunk": [1000],
    "one chunk of exactly a part": [PART_SIZE],
    "one chunk over two parts": [2 * PART_SIZE + 17],
    "chunks crossing part boundaries": [3 * MIB, 4 * MIB, 9 * MIB, 1],
    "chunks of exactly a part": [PART_SIZE, PART_SIZE],
    "tiny chunks": [1, 2, 3, 64, 1],
    "a small chunk after a part": [PART_SIZE, 1],
}


@pytest.mark.parametrize("sizes", CHUNKINGS.values(), ids=CHUNKINGS.keys())
def test_an_upload_stores_exactly_its_bytes_under_its_key(backend: Backend, sizes: list[int]) -> None:
    chunks = [blob(size, seed) for seed, size in enumerate(sizes)]
    key = upload(backend, chunks)
    data = b"".join(chunks)
    assert stored(backend.new(), key) == data
    assert hashlib.sha256(backend.read(key)).hexdigest() == sha256(data).hex
    assert_only(backend, key)


def test_the_empty_blob_is_stored_empty(backend: Backend) -> None:
    key = upload(backend, [])
    assert stored(backend.new(), key) == b""
    assert backend.new().exists(key)
    assert_only(backend, key)


def test_empty_chunks_change_nothing(backend: Backend) -> None:
    key = upload(backend, [b"", blob(100), b"", blob(PART_SIZE + 1, 1), b""])
    assert stored(backend.new(), key) == blob(100) + blob(PART_SIZE + 1, 1)


def test_a_chunk_aborted_half_way_is_not_part_of_the_upload(backend: Backend) -> None:
    first, second = blob(3 * MIB), blob(8 * MIB, 1)
    state = append(backend, "u1", 0, backend.new().start("u1"), first)
    dying = backend.new().writer("u1", len(first), state)
    dying.write(b"garbage" * MIB)  # past a part boundary: a part is sent
    dying.abort()
    state = append(backend, "u1", len(first), state, second)
    key = backend.new().commit("u1", state, sha256(first + second))
    assert stored(backend.new(), key) == first + second
    assert_only(backend, key)


def test_a_chunk_that_finished_but_was_never_recorded_is_not_part_of_the_upload(backend: Backend) -> None:
    """The writer finished, then the process died before the database recorded the new state."""
    first, second = blob(2 * MIB), blob(MIB, 1)
    state = append(backend, "u1", 0, backend.new().start("u1"), first)
    append(backend, "u1", len(first), state, b"lost" * 1000)  # its new state is thrown away
    append(backend, "u1", len(first), state, b"x" * (4 * MIB))  # and this one's too: it sent a part
    state = append(backend, "u1", len(first), state, second)
    key = backend.new().commit("u1", state, sha256(first + second))
    assert stored(backend.new(), key) == first + second
    assert_only(backend, key)


def test_discard_removes_every_trace_of_an_upload(backend: Backend) -> None:
    state = backend.new().start("u1")
    state = append(backend, "u1", 0, state, blob(PART_SIZE + 3))
    backend.new().discard("u1", state)
    assert_only(backend)


def test_discard_of_a_fresh_upload_removes_it(backend: Backend) -> None:
    backend.new().discard("u1", backend.new().start("u1"))
    assert_only(backend)


def test_discard_is_harmless_twice(backend: Backend) -> None:
    state = append(backend, "u1", 0, backend.new().start("u1"), blob(10))
    backend.new().discard("u1", state)
    backend.new().discard("u1", state)
    assert_only(backend)


def test_uploads_do_not_see_each_other(backend: Backend) -> None:
    one, two = blob(PART_SIZE + 5), blob(PART_SIZE + 5, 1)
    key_one = upload(backend, [one[:100], one[100:]], "u1")
    state = append(backend, "u2", 0, backend.new().start("u2"), two)
    backend.new().discard("u2", state)
    assert stored(backend.new(), key_one) == one
    assert_only(backend, key_one)


def test_delete_removes_a_blob(backend: Backend) -> None:
    key = upload(backend, [blob(10)])
    store = backend.new()
    store.delete(key)
    assert not store.exists(key)
    assert_only(backend)


def test_a_blob_is_served_from_a_path_or_a_presigned_url(backend: Backend) -> None:
    key = upload(backend, [blob(1000)])
    store = backend.new()
    if backend.name == "filesystem":
        assert store.url(key) is None
        path = store.local_path(key)
        assert path is not None
        with open(path, "rb") as stream:
            assert stream.read() == blob(1000)
    else:
        url = store.url(key)
        assert store.local_path(key) is None
        assert url is not None
        assert backend.endpoint is not None
        assert url.startswith(f"{backend.endpoint}/{BUCKET}/")
        assert "Signature=" in url
        with urllib.request.urlopen(url) as answer:
            assert answer.read() == blob(1000)


def test_s3_sends_parts_of_exactly_the_part_size(s3_store: S3BlobStore) -> None:
    state = s3_store.start("u1")
    writer = s3_store.writer("u1", 0, state)
    writer.write(blob(3 * MIB))
    writer.write(blob(9 * MIB))
    state = writer.finish()
    assert [part["Size"] for part in state["parts"]] == [PART_SIZE, PART_SIZE]
    assert state["tail"] is not None
    assert len(s3_store.read_object(state["tail"])) == 12 * MIB - 2 * PART_SIZE


def test_s3_discard_removes_more_than_a_thousand_leftover_objects(s3_store: S3BlobStore, s3_client: Any) -> None:
    state = s3_store.start("u1")

    def put(number: int) -> None:
        s3_store.put_object(f"_uploads/u1/tail-{number}", b"x")

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(1005)))
    s3_store.discard("u1", state)
    assert s3_client.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0
    assert s3_client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
