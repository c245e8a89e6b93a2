"""Blobs: GET, HEAD, ranged GET and DELETE of ``/v2/<name>/blobs/<digest>`` (distribution-spec end-2, end-10)."""

from __future__ import annotations

from typing import Any

from packages_app.models import Blob, PackageBlob
from tests.oci import make_image, sha256

DATA = b"0123456789abcdefghij"  # 20 bytes
DIGEST = sha256(DATA)


def _error_codes(response: Any) -> list[str]:
    return [e["code"] for e in response.json()["errors"]]


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_it_serves_a_blob_with_its_digest_and_length(registry: Any) -> None:
    registry.push_blob("acme/app", DATA)
    response = registry.client.get(f"/v2/acme/app/blobs/{DIGEST}")
    assert response.status_code == 200
    assert _body(response) == DATA
    assert response["Docker-Content-Digest"] == DIGEST
    assert response["Content-Length"] == "20"
    assert response["Docker-Distribution-API-Version"] == "registry/2.0"


def test_it_answers_head_with_the_headers_of_get_and_no_body(registry: Any) -> None:
    registry.push_blob("acme/app", DATA)
    response = registry.client.head(f"/v2/acme/app/blobs/{DIGEST}")
    assert response.status_code == 200
    assert response["Content-Length"] == "20"
    assert response["Docker-Content-Digest"] == DIGEST
    assert response.content == b""


def test_it_serves_a_byte_range_with_206_and_content_range(registry: Any) -> None:
    registry.push_blob("acme/app", DATA)
    response = registry.client.get(f"/v2/acme/app/blobs/{DIGEST}", HTTP_RANGE="bytes=2-5")
    assert response.status_code == 206
    assert _body(response) == b"2345"
    assert response["Content-Range"] == "bytes 2-5/20"
    assert response["Content-Length"] == "4"


def test_it_serves_an_open_ended_range_to_the_end_of_the_blob(registry: Any) -> None:
    registry.push_blob("acme/app", DATA)
    response = registry.client.get(f"/v2/acme/app/blobs/{DIGEST}", HTTP_RANGE="bytes=15-")
    assert response.status_code == 206
    assert _body(response) == b"fghij"
    assert response["Content-Range"] == "bytes 15-19/20"


def test_it_serves_a_suffix_range_as_the_last_bytes(registry: Any) -> None:
    registry.push_blob("acme/app", DATA)
    response = registry.client.get(f"/v2/acme/app/blobs/{DIGEST}", HTTP_RANGE="bytes=-3")
    assert response.status_code == 206
    assert _body(response) == b"hij"
    assert response["Content-Range"] == "bytes 17-19/20"


def test_it_clamps_a_range_that_ends_past_the_blob(registry: Any) -> None:
    registry.push_blob("acme/app", DATA)
    response = registry.client.get(f"/v2/acme/app/blobs/{DIGEST}", HTTP_RANGE="bytes=18-100")
    assert response.status_code == 206
    assert _body(response) == b"ij"
    assert response["Content-Range"] == "bytes 18-19/20"


def test_it_refuses_an_unsatisfiable_range_with_416_and_the_size(registry: Any) -> None:
    registry.push_blob("acme/app", DATA)
    response = registry.client.get(f"/v2/acme/app/blobs/{DIGEST}", HTTP_RANGE="bytes=20-30")
    assert response.status_code == 416
    assert response["Content-Range"] == "bytes */20"
    assert _error_codes(response) == ["RANGE_INVALID"]


def test_it_answers_404_blob_unknown_for_a_blob_never_pushed(registry: Any) -> None:
    registry.push_blob("acme/app", DATA)
    missing = sha256(b"never pushed")
    response = registry.client.get(f"/v2/acme/app/blobs/{missing}")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "BLOB_UNKNOWN"
    assert response.json()["errors"][0]["detail"] == {"digest": missing}


def test_it_answers_head_of_an_unknown_blob_with_404_and_no_body(registry: Any) -> None:
    registry.push_blob("acme/app", DATA)
    response = registry.client.head(f"/v2/acme/app/blobs/{sha256(b'nope')}")
    assert response.status_code == 404
    assert response.content == b""


def test_it_refuses_a_malformed_digest_with_digest_invalid(registry: Any) -> None:
    registry.push_blob("acme/app", DATA)
    response = registry.client.get("/v2/acme/app/blobs/sha256:not-hex")
    assert response.status_code == 400
    assert _error_codes(response) == ["DIGEST_INVALID"]


def test_it_refuses_an_unsupported_digest_algorithm_with_digest_invalid(registry: Any) -> None:
    registry.push_blob("acme/app", DATA)
    response = registry.client.get("/v2/acme/app/blobs/md5:" + "0" * 32)
    assert response.status_code == 400
    assert _error_codes(response) == ["DIGEST_INVALID"]


def test_it_deletes_a_blob_with_202_and_then_answers_404(registry: Any) -> None:
    registry.push_blob("acme/app", DATA)
    response = registry.client.delete(f"/v2/acme/app/blobs/{DIGEST}")
    assert response.status_code == 202
    assert not PackageBlob.objects.filter(package__name="acme/app", blob__digest=DIGEST).exists()
    again = registry.client.get(f"/v2/acme/app/blobs/{DIGEST}")
    assert again.status_code == 404
    assert _error_codes(again) == ["BLOB_UNKNOWN"]


def test_it_keeps_a_deleted_blob_readable_in_other_repositories(registry: Any) -> None:
    registry.push_blob("acme/app", DATA)
    registry.push_blob("acme/other", DATA)
    assert registry.client.delete(f"/v2/acme/app/blobs/{DIGEST}").status_code == 202
    assert registry.client.get(f"/v2/acme/other/blobs/{DIGEST}").status_code == 200


def test_it_answers_delete_of_an_unknown_blob_with_404(registry: Any) -> None:
    registry.push_blob("acme/app", DATA)
    response = registry.client.delete(f"/v2/acme/app/blobs/{sha256(b'nope')}")
    assert response.status_code == 404
    assert _error_codes(response) == ["BLOB_UNKNOWN"]


def test_it_refuses_to_delete_a_blob_a_manifest_still_uses_with_405_unsupported(registry: Any) -> None:

    image = make_image()
    assert registry.push_image("acme/app", image).status_code == 201
    layer = sha256(image.layers[0])
    response = registry.client.delete(f"/v2/acme/app/blobs/{layer}")
    assert response.status_code == 405
    assert _error_codes(response) == ["UNSUPPORTED"]
    assert registry.client.get(f"/v2/acme/app/blobs/{layer}").status_code == 200


def test_it_serves_a_blob_only_in_repositories_where_it_was_uploaded_or_mounted(registry: Any) -> None:
    registry.push_blob("acme/app", DATA)
    registry.push_blob("acme/neighbour", b"something else")
    response = registry.client.get(f"/v2/acme/neighbour/blobs/{DIGEST}")
    assert response.status_code == 404
    assert _error_codes(response) == ["BLOB_UNKNOWN"]
    assert Blob.objects.filter(digest=DIGEST).exists()


def test_it_serves_a_mounted_blob_in_the_target_repository(registry: Any) -> None:
    registry.push_blob("acme/app", DATA)
    mounted = registry.client.post(f"/v2/acme/copy/blobs/uploads/?mount={DIGEST}&from=acme/app")
    assert mounted.status_code == 201
    response = registry.client.get(f"/v2/acme/copy/blobs/{DIGEST}")
    assert response.status_code == 200
    assert _body(response) == DATA


def test_it_answers_name_unknown_for_a_blob_in_a_repository_that_does_not_exist(registry: Any) -> None:
    response = registry.client.get(f"/v2/acme/ghost/blobs/{DIGEST}")
    assert response.status_code == 404
    assert _error_codes(response) == ["NAME_UNKNOWN"]


def test_it_serves_an_empty_blob(registry: Any) -> None:
    assert registry.push_blob("acme/app", b"").status_code == 201
    response = registry.client.get(f"/v2/acme/app/blobs/{sha256(b'')}")
    assert response.status_code == 200
    assert _body(response) == b""
    assert response["Content-Length"] == "0"
