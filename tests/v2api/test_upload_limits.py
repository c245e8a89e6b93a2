"""Upload sessions at their limits (issue 9, points 6, 7, 10, 18, 24): Content-Range in the spec's one form,
416s with their OCI body, sessions past WHARF_UPLOAD_TIMEOUT, the cap on open sessions, a PUT retried
after a crash at the commit point, and ``expire_uploads --dry-run``."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from packages_app.models import Blob, Upload
from packages_app.names import Digest
from packages_app.storage import blob_store
from tests.conftest import basic, make_pat
from tests.oci import sha256

DATA = b"0123456789abcdefghij"
OCTETS = "application/octet-stream"


def start(client: Client, name: str = "acme/app", **extra: Any) -> Any:
    return client.post(f"/v2/{name}/blobs/uploads/", **extra)


def patch(client: Client, location: str, data: bytes, content_range: str | None = None) -> Any:
    extra: dict[str, Any] = {"HTTP_CONTENT_RANGE": content_range} if content_range else {}
    return client.patch(location, data=data, content_type=OCTETS, **extra)


def oci_error(response: Any) -> dict[str, Any]:
    """The one OCI error a response carries; its Content-Length is that of the body."""
    assert response["Content-Type"] == "application/json"
    assert int(response["Content-Length"]) == len(response.content) > 0
    errors = json.loads(response.content)["errors"]
    assert len(errors) == 1
    return dict(errors[0])


def age(location: str, seconds: int) -> None:
    Upload.objects.filter(id=location.rsplit("/", 1)[1]).update(updated_at=timezone.now() - timedelta(seconds=seconds))


# --- point 6: Content-Range --------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["bytes 0-9/20", "0-9/*", "0-9/20", "bytes 0-9", "0-\uff19", "0 -9"])
def test_a_content_range_in_a_form_the_spec_does_not_have_is_416_with_a_body(registry: Any, header: str) -> None:
    location = start(registry.client)["Location"]
    response = patch(registry.client, location, DATA[:10], header)
    assert response.status_code == 416
    assert oci_error(response)["code"] == "RANGE_INVALID"
    assert response["Range"] == "0-0"
    assert response["Location"] == location
    assert Upload.objects.get().offset == 0


def test_the_spec_form_of_content_range_is_accepted(registry: Any) -> None:
    location = start(registry.client)["Location"]
    assert patch(registry.client, location, DATA[:10], "0-9").status_code == 202
    done = registry.client.put(
        f"{location}?digest={sha256(DATA)}", data=DATA[10:], content_type=OCTETS, HTTP_CONTENT_RANGE="10-19"
    )
    assert done.status_code == 201


def test_a_put_with_a_content_range_the_spec_does_not_have_is_416_with_a_body(registry: Any) -> None:
    location = start(registry.client)["Location"]
    response = registry.client.put(
        f"{location}?digest={sha256(DATA)}", data=DATA, content_type=OCTETS, HTTP_CONTENT_RANGE="bytes 0-19/20"
    )
    assert response.status_code == 416
    assert oci_error(response)["code"] == "RANGE_INVALID"
    assert not Blob.objects.exists()


def test_a_chunk_out_of_order_is_416_with_a_body_of_its_length(registry: Any) -> None:
    location = start(registry.client)["Location"]
    assert patch(registry.client, location, DATA[:10], "0-9").status_code == 202
    response = patch(registry.client, location, DATA[15:], "15-19")
    assert response.status_code == 416
    error = oci_error(response)
    assert error["code"] == "RANGE_INVALID"
    assert "order" in error["message"]
    assert response["Range"] == "0-9"


# --- point 7: the upload timeout, checked at use -----------------------------------------------------


def test_a_session_idle_past_the_upload_timeout_is_unknown_when_used(registry: Any, settings: Any) -> None:
    settings.WHARF_UPLOAD_TIMEOUT = 60
    location = start(registry.client)["Location"]
    assert patch(registry.client, location, DATA, f"0-{len(DATA) - 1}").status_code == 202
    age(location, 66)
    put = registry.client.put(f"{location}?digest={sha256(DATA)}")
    assert put.status_code == 404
    assert oci_error(put)["code"] == "BLOB_UPLOAD_UNKNOWN"
    for response in (registry.client.get(location), patch(registry.client, location, b"more")):
        assert response.status_code == 404
        assert oci_error(response)["code"] == "BLOB_UPLOAD_UNKNOWN"
    assert registry.client.delete(location).status_code == 404
    assert not Blob.objects.exists()
    assert registry.client.head(f"/v2/acme/app/blobs/{sha256(DATA)}").status_code == 404


def test_a_session_used_within_the_timeout_stays_usable(registry: Any, settings: Any) -> None:
    settings.WHARF_UPLOAD_TIMEOUT = 60
    location = start(registry.client)["Location"]
    assert patch(registry.client, location, DATA[:10], "0-9").status_code == 202
    age(location, 50)
    assert patch(registry.client, location, DATA[10:], "10-19").status_code == 202  # renews it
    age(location, 50)
    assert registry.client.put(f"{location}?digest={sha256(DATA)}").status_code == 201


# --- point 10: open sessions per user or token --------------------------------------------------------


def test_a_user_cannot_hold_more_open_sessions_than_the_limit(client: Client, owner: Any, settings: Any) -> None:
    settings.WHARF_MAX_OPEN_UPLOADS = 3
    one, other = basic("alice", make_pat(owner, "write:packages")), basic("alice", make_pat(owner, "write:packages"))
    opened = [start(client, HTTP_AUTHORIZATION=one) for _ in range(2)] + [start(client, HTTP_AUTHORIZATION=other)]
    assert [r.status_code for r in opened] == [202, 202, 202]
    refused = start(client, HTTP_AUTHORIZATION=one)  # another token of the same user counts too
    assert refused.status_code == 429
    error = oci_error(refused)
    assert error["code"] == "TOOMANYREQUESTS"
    assert "3 upload sessions are open" in error["message"]
    monolithic = client.post(
        f"/v2/acme/app/blobs/uploads/?digest={sha256(DATA)}", data=DATA, content_type=OCTETS, HTTP_AUTHORIZATION=one
    )
    assert monolithic.status_code == 429
    assert Upload.objects.count() == 3
    assert not Blob.objects.exists()

    assert client.delete(opened[0]["Location"], HTTP_AUTHORIZATION=one).status_code == 204
    assert start(client, HTTP_AUTHORIZATION=one).status_code == 202
    age(opened[1]["Location"], settings.WHARF_UPLOAD_TIMEOUT + 1)  # an expired session does not count
    assert start(client, HTTP_AUTHORIZATION=other).status_code == 202


def test_one_users_sessions_do_not_count_against_another(
    client: Client, owner: Any, member: Any, settings: Any
) -> None:
    settings.WHARF_MAX_OPEN_UPLOADS = 1
    assert start(client, HTTP_AUTHORIZATION=basic("alice", make_pat(owner, "write:packages"))).status_code == 202
    assert start(client, HTTP_AUTHORIZATION=basic("alice", make_pat(owner, "write:packages"))).status_code == 429
    assert (
        start(client, "bob/app", HTTP_AUTHORIZATION=basic("bob", make_pat(member, "write:packages"))).status_code == 202
    )


# --- point 18: a PUT retried after a crash at the commit point ---------------------------------------


def commit_as_a_dying_put(location: str) -> None:
    """What a PUT killed right after the store committed the bytes (before the Blob row) left behind."""
    upload = Upload.objects.get(id=location.rsplit("/", 1)[1])
    blob_store().commit(str(upload.id), upload.storage_state, Digest("sha256", sha256(DATA)[7:]))


def test_a_put_retried_after_a_crash_at_the_commit_point_finishes(registry: Any) -> None:
    location = start(registry.client)["Location"]
    assert patch(registry.client, location, DATA, f"0-{len(DATA) - 1}").status_code == 202
    commit_as_a_dying_put(location)
    assert registry.client.get(location)["Range"] == f"0-{len(DATA) - 1}"
    retried = registry.client.put(f"{location}?digest={sha256(DATA)}")
    assert retried.status_code == 201
    assert retried["Docker-Content-Digest"] == sha256(DATA)
    pulled = registry.client.get(f"/v2/acme/app/blobs/{sha256(DATA)}")
    assert b"".join(pulled.streaming_content) == DATA
    assert not Upload.objects.exists()


def test_a_put_retried_after_the_committed_bytes_were_lost_is_upload_unknown(registry: Any, blob_dir: Path) -> None:
    location = start(registry.client)["Location"]
    assert patch(registry.client, location, DATA, f"0-{len(DATA) - 1}").status_code == 202
    commit_as_a_dying_put(location)
    upload_id = location.rsplit("/", 1)[1]
    (blob_dir / "_blobs" / upload_id[:2] / upload_id).write_bytes(DATA[:5])  # a torn file
    retried = registry.client.put(f"{location}?digest={sha256(DATA)}")
    assert retried.status_code == 404
    assert oci_error(retried)["code"] == "BLOB_UPLOAD_UNKNOWN"
    assert not Upload.objects.exists()
    assert not Blob.objects.exists()
    assert [p for p in blob_dir.rglob("*") if p.is_file()] == []
    again = registry.client.post(f"/v2/acme/app/blobs/uploads/?digest={sha256(DATA)}", data=DATA, content_type=OCTETS)
    assert again.status_code == 201  # the client starts over


# --- point 24: expire_uploads --dry-run ----------------------------------------------------------------


def test_expire_uploads_dry_run_lists_idle_sessions_and_removes_nothing(registry: Any, blob_dir: Path) -> None:
    idle, fresh = start(registry.client)["Location"], start(registry.client)["Location"]
    assert patch(registry.client, idle, DATA, f"0-{len(DATA) - 1}").status_code == 202
    age(idle, 3600)
    idle_id, fresh_id = idle.rsplit("/", 1)[1], fresh.rsplit("/", 1)[1]
    out = StringIO()
    call_command("expire_uploads", "--dry-run", stdout=out)
    assert f"would remove upload session {idle_id}" in out.getvalue()
    assert fresh_id not in out.getvalue()
    assert out.getvalue().strip().splitlines()[-1].startswith("would remove 1 idle session(s)")
    assert Upload.objects.count() == 2
    assert (blob_dir / "_uploads" / idle_id).stat().st_size == len(DATA)

    out = StringIO()
    call_command("expire_uploads", stdout=out)
    assert f"removed upload session {idle_id}" in out.getvalue()
    assert list(Upload.objects.values_list("id", flat=True)) == [Upload.objects.get(id=fresh_id).id]
    assert not (blob_dir / "_uploads" / idle_id).exists()
