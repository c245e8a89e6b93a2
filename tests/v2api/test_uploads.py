"""Blob uploads: ``POST /v2/<name>/blobs/uploads/`` and the session URL it returns (distribution-spec
"Pushing blobs": end-4a, end-4b, end-5, end-6, end-11, end-13, end-14)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from packages_app.models import Blob, PackageBlob, Upload
from tests.oci import sha256, sha512

DATA = b"the quick brown fox jumps over the lazy dog"
OCTETS = "application/octet-stream"


def _error_codes(response: Any) -> list[str]:
    return [e["code"] for e in response.json()["errors"]]


def _start(registry: Any, name: str = "acme/app") -> Any:
    response = registry.client.post(f"/v2/{name}/blobs/uploads/")
    assert response.status_code == 202
    return response


def _stored_files(blob_dir: Path) -> list[Path]:
    return [p for p in blob_dir.rglob("*") if p.is_file()]


def _patch(registry: Any, location: str, data: bytes, content_range: str | None = None) -> Any:
    extra = {"HTTP_CONTENT_RANGE": content_range} if content_range else {}
    return registry.client.patch(location, data=data, content_type=OCTETS, **extra)


def _read_blob(registry: Any, name: str, digest: str) -> bytes:
    response = registry.client.get(f"/v2/{name}/blobs/{digest}")
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def test_it_opens_a_session_with_location_range_and_upload_uuid(registry: Any) -> None:
    response = registry.client.post("/v2/acme/app/blobs/uploads/")
    assert response.status_code == 202
    upload = Upload.objects.get()
    assert response["Location"] == f"/v2/acme/app/blobs/uploads/{upload.id}"
    assert response["Range"] == "0-0"
    assert response["Docker-Upload-UUID"] == str(upload.id)
    assert response["Content-Length"] == "0"
    assert upload.package.name == "acme/app"


def test_it_stores_a_monolithic_post_with_digest_and_answers_201(registry: Any, blob_dir: Path) -> None:
    digest = sha256(DATA)
    response = registry.client.post(f"/v2/acme/app/blobs/uploads/?digest={digest}", data=DATA, content_type=OCTETS)
    assert response.status_code == 201
    assert response["Location"] == f"/v2/acme/app/blobs/{digest}"
    assert response["Docker-Content-Digest"] == digest
    blob = Blob.objects.get(digest=digest)
    assert blob.size == len(DATA)
    assert (blob_dir / blob.storage_key).read_bytes() == DATA
    assert PackageBlob.objects.filter(package__name="acme/app", blob=blob).exists()
    assert not Upload.objects.exists()


def test_it_stores_a_post_then_a_single_put_with_the_body(registry: Any) -> None:
    location = _start(registry)["Location"]
    digest = sha256(DATA)
    response = registry.client.put(f"{location}?digest={digest}", data=DATA, content_type=OCTETS)
    assert response.status_code == 201
    assert response["Location"] == f"/v2/acme/app/blobs/{digest}"
    assert response["Docker-Content-Digest"] == digest
    assert _read_blob(registry, "acme/app", digest) == DATA
    assert not Upload.objects.exists()


def test_it_assembles_three_chunks_sent_with_content_range(registry: Any) -> None:
    location = _start(registry)["Location"]
    chunks = [DATA[:10], DATA[10:25], DATA[25:]]
    offset = 0
    for chunk in chunks:
        response = _patch(registry, location, chunk, f"{offset}-{offset + len(chunk) - 1}")
        offset += len(chunk)
        assert response.status_code == 202
        assert response["Range"] == f"0-{offset - 1}"
        assert response["Location"] == location
        assert Upload.objects.get().offset == offset
    digest = sha256(DATA)
    response = registry.client.put(f"{location}?digest={digest}")
    assert response.status_code == 201
    assert response["Docker-Content-Digest"] == digest
    assert Blob.objects.get(digest=digest).size == len(DATA)
    assert _read_blob(registry, "acme/app", digest) == DATA


def test_it_appends_a_patch_without_content_range_at_the_current_offset(registry: Any) -> None:
    location = _start(registry)["Location"]
    assert _patch(registry, location, DATA[:7])["Range"] == "0-6"
    response = _patch(registry, location, DATA[7:])
    assert response.status_code == 202
    assert response["Range"] == f"0-{len(DATA) - 1}"
    digest = sha256(DATA)
    assert registry.client.put(f"{location}?digest={digest}").status_code == 201
    assert _read_blob(registry, "acme/app", digest) == DATA


def test_it_accepts_the_final_chunk_in_the_closing_put(registry: Any) -> None:
    location = _start(registry)["Location"]
    assert _patch(registry, location, DATA[:20], "0-19").status_code == 202
    digest = sha256(DATA)
    response = registry.client.put(
        f"{location}?digest={digest}", data=DATA[20:], content_type=OCTETS, HTTP_CONTENT_RANGE=f"20-{len(DATA) - 1}"
    )
    assert response.status_code == 201
    assert _read_blob(registry, "acme/app", digest) == DATA


def test_it_refuses_a_chunk_out_of_order_with_416(registry: Any) -> None:
    location = _start(registry)["Location"]
    assert _patch(registry, location, DATA[:10], "0-9").status_code == 202
    response = _patch(registry, location, DATA[20:30], "20-29")
    assert response.status_code == 416
    assert response["Range"] == "0-9"
    assert response["Location"] == location
    assert _error_codes(response) == ["RANGE_INVALID"]
    assert Upload.objects.get().offset == 10


def test_it_refuses_a_chunk_that_repeats_bytes_already_received_with_416(registry: Any) -> None:
    location = _start(registry)["Location"]
    assert _patch(registry, location, DATA[:10], "0-9").status_code == 202
    response = _patch(registry, location, DATA[5:15], "5-14")
    assert response.status_code == 416
    assert response["Range"] == "0-9"


def test_it_refuses_a_content_range_that_disagrees_with_the_body_length(registry: Any) -> None:
    location = _start(registry)["Location"]
    response = _patch(registry, location, DATA[:10], "0-4")
    assert response.status_code == 400
    assert _error_codes(response) == ["SIZE_INVALID"]
    assert Upload.objects.get().offset == 0


def test_it_reports_the_status_of_a_session_with_204_and_range(registry: Any) -> None:
    location = _start(registry)["Location"]
    _patch(registry, location, DATA[:12], "0-11")
    response = registry.client.get(location)
    assert response.status_code == 204
    assert response["Range"] == "0-11"
    assert response["Location"] == location
    assert response["Docker-Upload-UUID"] == location.rsplit("/", 1)[1]


def test_it_cancels_a_session_with_204_and_then_answers_blob_upload_unknown(registry: Any, blob_dir: Path) -> None:
    location = _start(registry)["Location"]
    _patch(registry, location, DATA, f"0-{len(DATA) - 1}")
    response = registry.client.delete(location)
    assert response.status_code == 204
    assert not Upload.objects.exists()
    assert _stored_files(blob_dir) == []
    status = registry.client.get(location)
    assert status.status_code == 404
    assert _error_codes(status) == ["BLOB_UPLOAD_UNKNOWN"]
    patch = _patch(registry, location, b"more")
    assert patch.status_code == 404
    assert _error_codes(patch) == ["BLOB_UPLOAD_UNKNOWN"]


def test_it_answers_blob_upload_unknown_for_a_session_id_that_is_not_a_uuid(registry: Any) -> None:
    _start(registry)
    response = registry.client.get("/v2/acme/app/blobs/uploads/not-a-uuid")
    assert response.status_code == 404
    assert _error_codes(response) == ["BLOB_UPLOAD_UNKNOWN"]


def test_it_refuses_a_wrong_digest_on_put_and_stores_nothing(registry: Any, blob_dir: Path) -> None:
    location = _start(registry)["Location"]
    _patch(registry, location, DATA, f"0-{len(DATA) - 1}")
    wrong = sha256(b"something else")
    response = registry.client.put(f"{location}?digest={wrong}")
    assert response.status_code == 400
    assert _error_codes(response) == ["DIGEST_INVALID"]
    assert not Blob.objects.exists()
    assert not Upload.objects.exists()
    assert _stored_files(blob_dir) == []
    assert registry.client.get(location).status_code == 404


def test_it_refuses_a_wrong_digest_on_a_monolithic_post_and_stores_nothing(registry: Any, blob_dir: Path) -> None:
    wrong = sha256(b"something else")
    response = registry.client.post(f"/v2/acme/app/blobs/uploads/?digest={wrong}", data=DATA, content_type=OCTETS)
    assert response.status_code == 400
    assert _error_codes(response) == ["DIGEST_INVALID"]
    assert not Blob.objects.exists()
    assert not Upload.objects.exists()
    assert _stored_files(blob_dir) == []


def test_it_refuses_a_put_without_a_digest(registry: Any) -> None:
    location = _start(registry)["Location"]
    response = registry.client.put(location, data=DATA, content_type=OCTETS)
    assert response.status_code == 400
    assert _error_codes(response) == ["DIGEST_INVALID"]
    assert not Blob.objects.exists()


def test_it_stores_a_monolithic_sha512_blob(registry: Any, blob_dir: Path) -> None:
    digest = sha512(DATA)
    response = registry.client.post(f"/v2/acme/app/blobs/uploads/?digest={digest}", data=DATA, content_type=OCTETS)
    assert response.status_code == 201
    assert response["Docker-Content-Digest"] == digest
    blob = Blob.objects.get(digest=digest)
    assert (blob_dir / blob.storage_key).read_bytes() == DATA
    assert _read_blob(registry, "acme/app", digest) == DATA


def test_it_stores_a_chunked_sha512_blob(registry: Any) -> None:
    location = _start(registry)["Location"]
    _patch(registry, location, DATA[:20], "0-19")
    _patch(registry, location, DATA[20:], f"20-{len(DATA) - 1}")
    digest = sha512(DATA)
    response = registry.client.put(f"{location}?digest={digest}")
    assert response.status_code == 201
    assert response["Docker-Content-Digest"] == digest
    assert _read_blob(registry, "acme/app", digest) == DATA


def test_it_refuses_a_wrong_sha512_digest_and_stores_nothing(registry: Any, blob_dir: Path) -> None:
    location = _start(registry)["Location"]
    _patch(registry, location, DATA, f"0-{len(DATA) - 1}")
    response = registry.client.put(f"{location}?digest={sha512(b'other')}")
    assert response.status_code == 400
    assert _error_codes(response) == ["DIGEST_INVALID"]
    assert not Blob.objects.exists()
    assert not Upload.objects.exists()
    assert _stored_files(blob_dir) == []


def test_a_wrong_sha512_push_does_not_damage_the_blob_it_claims_to_be(registry: Any, blob_dir: Path) -> None:
    digest = sha512(DATA)
    assert (
        registry.client.post(f"/v2/acme/app/blobs/uploads/?digest={digest}", data=DATA, content_type=OCTETS).status_code
        == 201
    )
    location = _start(registry, "acme/intruder")["Location"]
    response = registry.client.put(f"{location}?digest={digest}", data=b"forged", content_type=OCTETS)
    assert response.status_code == 400
    assert _error_codes(response) == ["DIGEST_INVALID"]
    assert _read_blob(registry, "acme/app", digest) == DATA
    assert not PackageBlob.objects.filter(package__name="acme/intruder").exists()


def test_it_refuses_a_session_used_through_another_repository(registry: Any) -> None:
    _start(registry, "acme/other")
    location = _start(registry)["Location"]
    upload_id = location.rsplit("/", 1)[1]
    elsewhere = f"/v2/acme/other/blobs/uploads/{upload_id}"
    for response in (
        registry.client.get(elsewhere),
        _patch(registry, elsewhere, DATA),
        registry.client.put(f"{elsewhere}?digest={sha256(DATA)}", data=DATA, content_type=OCTETS),
        registry.client.delete(elsewhere),
    ):
        assert response.status_code == 404
        assert _error_codes(response) == ["BLOB_UPLOAD_UNKNOWN"]
    assert Upload.objects.get(id=upload_id).offset == 0
    assert not Blob.objects.exists()


def test_it_mounts_a_blob_from_a_repository_that_has_it_with_201(registry: Any) -> None:
    digest = sha256(DATA)
    registry.push_blob("acme/app", DATA)
    response = registry.client.post(f"/v2/acme/copy/blobs/uploads/?mount={digest}&from=acme/app")
    assert response.status_code == 201
    assert response["Location"] == f"/v2/acme/copy/blobs/{digest}"
    assert response["Docker-Content-Digest"] == digest
    assert PackageBlob.objects.filter(package__name="acme/copy", blob__digest=digest).exists()
    assert not Upload.objects.exists()


def test_it_falls_back_to_a_session_when_the_mounted_blob_is_missing(registry: Any) -> None:
    registry.push_blob("acme/app", DATA)
    response = registry.client.post(f"/v2/acme/copy/blobs/uploads/?mount={sha256(b'absent')}&from=acme/app")
    assert response.status_code == 202
    assert response["Location"].startswith("/v2/acme/copy/blobs/uploads/")
    assert response["Range"] == "0-0"
    assert Upload.objects.filter(package__name="acme/copy").count() == 1
    assert not PackageBlob.objects.filter(package__name="acme/copy").exists()


def test_it_falls_back_to_a_session_when_the_mount_source_does_not_exist(registry: Any) -> None:
    digest = sha256(DATA)
    registry.push_blob("acme/app", DATA)
    response = registry.client.post(f"/v2/acme/copy/blobs/uploads/?mount={digest}&from=acme/ghost")
    assert response.status_code == 202
    assert Upload.objects.filter(package__name="acme/copy").count() == 1
    assert not PackageBlob.objects.filter(package__name="acme/copy").exists()


def test_it_falls_back_to_a_session_when_the_mount_has_no_source(registry: Any) -> None:
    digest = sha256(DATA)
    registry.push_blob("acme/app", DATA)
    response = registry.client.post(f"/v2/acme/copy/blobs/uploads/?mount={digest}")
    assert response.status_code == 202
    assert not PackageBlob.objects.filter(package__name="acme/copy").exists()


def test_it_refuses_a_blob_larger_than_the_limit_with_413(registry: Any, settings: Any, blob_dir: Path) -> None:
    settings.WHARF_MAX_BLOB_SIZE = 10
    response = registry.client.post(
        f"/v2/acme/app/blobs/uploads/?digest={sha256(DATA)}", data=DATA, content_type=OCTETS
    )
    assert response.status_code == 413
    assert _error_codes(response) == ["SIZE_INVALID"]
    assert not Blob.objects.exists()
    assert not Upload.objects.exists()
    assert _stored_files(blob_dir) == []


def test_it_refuses_a_chunk_that_would_take_the_upload_past_the_limit_with_413(registry: Any, settings: Any) -> None:
    settings.WHARF_MAX_BLOB_SIZE = 15
    location = _start(registry)["Location"]
    assert _patch(registry, location, DATA[:10], "0-9").status_code == 202
    response = _patch(registry, location, DATA[10:20], "10-19")
    assert response.status_code == 413
    assert _error_codes(response) == ["SIZE_INVALID"]
    assert Upload.objects.get().offset == 10


def test_it_does_not_commit_a_body_shorter_than_its_content_length(registry: Any, blob_dir: Path) -> None:
    digest = sha256(DATA)
    response = registry.client.post(
        f"/v2/acme/app/blobs/uploads/?digest={digest}",
        content_type=OCTETS,
        CONTENT_LENGTH=str(len(DATA)),
        **{"wsgi.input": io.BytesIO(DATA[:10])},
    )
    assert response.status_code == 400
    assert _error_codes(response) == ["BLOB_UPLOAD_INVALID"]
    assert not Blob.objects.exists()
    assert not Upload.objects.exists()
    assert _stored_files(blob_dir) == []


def test_it_keeps_the_offset_of_a_session_whose_chunk_ended_early(registry: Any) -> None:
    location = _start(registry)["Location"]
    assert _patch(registry, location, DATA[:10], "0-9").status_code == 202
    response = registry.client.patch(
        location, content_type=OCTETS, CONTENT_LENGTH="20", **{"wsgi.input": io.BytesIO(DATA[10:15])}
    )
    assert response.status_code == 400
    assert Upload.objects.get().offset == 10
    assert _patch(registry, location, DATA[10:], f"10-{len(DATA) - 1}").status_code == 202
    assert registry.client.put(f"{location}?digest={sha256(DATA)}").status_code == 201
    assert _read_blob(registry, "acme/app", sha256(DATA)) == DATA


def test_a_wrong_sha256_push_does_not_damage_the_blob_it_claims_to_be(registry: Any) -> None:
    digest = sha256(DATA)
    registry.push_blob("acme/app", DATA)
    response = registry.client.post(
        f"/v2/acme/intruder/blobs/uploads/?digest={digest}", data=b"forged", content_type=OCTETS
    )
    assert response.status_code == 400
    assert _error_codes(response) == ["DIGEST_INVALID"]
    assert _read_blob(registry, "acme/app", digest) == DATA


def test_it_stores_the_same_content_once_when_pushed_to_two_repositories(registry: Any, blob_dir: Path) -> None:
    assert registry.push_blob("acme/app", DATA).status_code == 201
    assert registry.push_blob("acme/other", DATA).status_code == 201
    assert Blob.objects.count() == 1
    assert PackageBlob.objects.count() == 2
    assert [p.read_bytes() for p in _stored_files(blob_dir)] == [DATA]


def test_it_keeps_a_sha256_blob_readable_after_the_same_content_is_pushed_as_sha512(registry: Any) -> None:
    registry.push_blob("acme/app", DATA)
    digest = sha512(DATA)
    assert registry.push_blob("acme/app", DATA, digest).status_code == 201
    assert registry.push_blob("acme/app", b"forged", digest).status_code == 400
    assert _read_blob(registry, "acme/app", sha256(DATA)) == DATA
    assert _read_blob(registry, "acme/app", digest) == DATA


def _upload_writes(queries: list[dict[str, Any]]) -> list[str]:
    """The statements of ``queries`` that touch the upload sessions' table, first word only."""
    table = Upload._meta.db_table
    return [q["sql"].split()[0].upper() for q in queries if f'"{table}"' in q["sql"] or f" {table} " in q["sql"]]


def test_a_patch_reads_its_session_once_and_gives_the_lease_up_with_its_commit(registry: Any) -> None:
    location = _start(registry)["Location"]
    with CaptureQueriesContext(connection) as patching:
        assert _patch(registry, location, DATA[:10]).status_code == 202
    # the session (SELECT), its lease (UPDATE), the chunk's commit that also frees the lease (UPDATE)
    assert _upload_writes(patching.captured_queries) == ["SELECT", "UPDATE", "UPDATE"]
    upload = Upload.objects.get()
    assert upload.offset == 10
    assert upload.lease_token is None
    assert upload.lease_until is None


def test_a_closing_put_writes_nothing_to_its_session_after_removing_it(registry: Any) -> None:
    location = _start(registry)["Location"]
    assert _patch(registry, location, DATA[:10]).status_code == 202
    with CaptureQueriesContext(connection) as closing:
        response = registry.client.put(f"{location}?digest={sha256(DATA)}", data=DATA[10:], content_type=OCTETS)
    assert response.status_code == 201
    assert _upload_writes(closing.captured_queries) == ["SELECT", "UPDATE", "UPDATE", "DELETE"]
    assert not Upload.objects.exists()
    assert PackageBlob.objects.filter(blob__digest=sha256(DATA)).count() == 1


def test_a_second_upload_of_a_linked_blob_renews_its_link_in_one_statement(registry: Any) -> None:
    digest = sha256(DATA)
    for _ in range(2):
        response = registry.client.post(f"/v2/acme/app/blobs/uploads/?digest={digest}", data=DATA, content_type=OCTETS)
        assert response.status_code == 201
    first = PackageBlob.objects.get().created_at
    with CaptureQueriesContext(connection) as again:
        registry.client.post(f"/v2/acme/app/blobs/uploads/?digest={digest}", data=DATA, content_type=OCTETS)
    link = PackageBlob._meta.db_table
    assert [q["sql"].split()[0].upper() for q in again.captured_queries if f'"{link}"' in q["sql"]] == ["INSERT"]
    assert PackageBlob.objects.get().created_at > first  # the grace period counts from this upload
