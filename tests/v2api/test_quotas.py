"""Pushes past the owner's storage quota (issue 12, point 6): refused with 403 DENIED naming the quota
on every path — a monolithic POST, a PATCH or PUT with Content-Length (before any byte is stored), a
chunked upload at its PUT (its bytes discarded), a mount, a manifest — leaving nothing half-written:
no Blob row, no link, no session, no stored bytes. Pushes within the quota, and blobs the owner already
holds, go through. The query cost of the checks is measured against quotas off."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from packages_app import quotas
from packages_app.access import ANONYMOUS
from packages_app.models import Blob, Manifest, PackageBlob, StorageQuota, Upload
from packages_app.services import versions
from tests.oci import layer_tar, make_image, sha256

OCTETS = "application/octet-stream"
DATA = b"0123456789" * 100  # 1000 bytes


def denied(response: Any) -> str:
    """The refusal's message: 403, one OCI error DENIED naming the quota."""
    assert response.status_code == 403, response.content
    assert response["Content-Type"] == "application/json"
    errors = json.loads(response.content)["errors"]
    assert len(errors) == 1
    assert errors[0]["code"] == "DENIED"
    assert errors[0]["message"].startswith("storage quota of acme exceeded: ")
    return str(errors[0]["message"])


def stored_files(blob_dir: Path) -> list[Path]:
    return [p for p in blob_dir.rglob("*") if p.is_file()]


def nothing_left(blob_dir: Path) -> None:
    assert not Blob.objects.exists()
    assert not PackageBlob.objects.exists()
    assert not Upload.objects.exists()
    assert stored_files(blob_dir) == []


@pytest.fixture
def quota(settings: Any) -> Any:
    """acme may hold 1500 bytes (a site admin's quota); everyone else is unlimited."""
    settings.WHARF_QUOTA_DEFAULT_BYTES = 0
    return StorageQuota.objects.create(namespace="acme", limit_bytes=1500)


def chunked(body: bytes) -> dict[str, Any]:
    """A body without Content-Length, as gunicorn hands a chunked one over (de-chunked, read to its end)."""
    return {"data": b"", "content_type": OCTETS, "HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(body)}


def start(registry: Any, name: str = "acme/app") -> str:
    response = registry.client.post(f"/v2/{name}/blobs/uploads/")
    assert response.status_code == 202
    return str(response["Location"])


def test_a_push_within_the_quota_goes_through(registry: Any, quota: Any) -> None:
    assert registry.push_blob("acme/app", DATA).status_code == 201
    assert quotas.usage_of("acme").used_bytes == 1000


def test_a_monolithic_post_past_the_quota_is_refused_before_its_bytes_are_stored(
    registry: Any, quota: Any, blob_dir: Path
) -> None:
    message = denied(registry.push_blob("acme/app", DATA * 2))
    assert message == "storage quota of acme exceeded: 0 B used of 1.5 KiB, this push needs 2.0 KiB more"
    nothing_left(blob_dir)


def test_the_refusal_names_what_is_used_already(registry: Any, quota: Any, blob_dir: Path) -> None:
    assert registry.push_blob("acme/app", DATA).status_code == 201
    response = registry.push_blob("acme/app", DATA[:600] + b"x")
    assert denied(response).endswith("1000 B used of 1.5 KiB, this push needs 601 B more")
    detail = json.loads(response.content)["errors"][0]["detail"]
    assert detail == {"namespace": "acme", "used_bytes": 1000, "limit_bytes": 1500, "requested_bytes": 601}
    assert Blob.objects.count() == 1


def test_a_patch_with_content_length_past_the_quota_is_refused_and_stores_nothing(
    registry: Any, quota: Any, blob_dir: Path
) -> None:
    location = start(registry)
    assert registry.client.patch(location, data=DATA, content_type=OCTETS).status_code == 202
    denied(registry.client.patch(location, data=DATA, content_type=OCTETS, HTTP_CONTENT_RANGE="1000-1999"))
    assert Upload.objects.get().offset == 1000  # the refused chunk was not written
    assert not Blob.objects.exists()


def test_a_put_with_content_length_past_the_quota_is_refused_and_ends_the_session(
    registry: Any, quota: Any, blob_dir: Path
) -> None:
    location = start(registry)
    body = DATA * 2
    denied(registry.client.put(f"{location}?digest={sha256(body)}", data=body, content_type=OCTETS))
    nothing_left(blob_dir)


def test_a_chunked_upload_past_the_quota_is_refused_at_its_put_and_its_bytes_discarded(
    registry: Any, quota: Any, blob_dir: Path
) -> None:
    """A PATCH without a length (docker's way) cannot be checked before it is stored; the PUT that
    would publish it is refused, and the session's bytes go with it."""
    location = start(registry)
    body = DATA * 2
    response = registry.client.patch(location, **chunked(body))
    assert response.status_code == 202
    assert Upload.objects.get().offset == len(body)
    denied(registry.client.put(f"{location}?digest={sha256(body)}", data=b"", content_type=OCTETS))
    nothing_left(blob_dir)


def test_a_chunked_put_body_past_the_quota_is_refused_before_it_becomes_a_blob(
    registry: Any, quota: Any, blob_dir: Path
) -> None:
    location = start(registry)
    body = DATA * 2
    denied(registry.client.put(f"{location}?digest={sha256(body)}", **chunked(body)))
    nothing_left(blob_dir)


def test_a_blob_the_owner_already_holds_adds_nothing(registry: Any, quota: Any) -> None:
    assert registry.push_blob("acme/app", DATA).status_code == 201
    StorageQuota.objects.filter(namespace="acme").update(limit_bytes=1000)  # full
    assert registry.push_blob("acme/app", DATA).status_code == 201
    assert registry.push_blob("acme/other", DATA).status_code == 201  # another package of the owner
    assert quotas.usage_of("acme").used_bytes == 1000
    denied(registry.push_blob("acme/app", b"one more byte"))


def test_a_mount_past_the_quota_is_refused_and_links_nothing(registry: Any, quota: Any) -> None:
    big = DATA * 2
    assert registry.push_blob("other/app", big).status_code == 201
    response = registry.client.post(f"/v2/acme/app/blobs/uploads/?mount={sha256(big)}&from=other/app")
    denied(response)
    assert not PackageBlob.objects.filter(package__namespace="acme").exists()
    assert not Upload.objects.exists()
    assert quotas.usage_of("acme").used_bytes == 0


def test_a_mount_within_the_quota_counts(registry: Any, quota: Any) -> None:
    assert registry.push_blob("other/app", DATA).status_code == 201
    response = registry.client.post(f"/v2/acme/app/blobs/uploads/?mount={sha256(DATA)}&from=other/app")
    assert response.status_code == 201
    assert quotas.usage_of("acme").used_bytes == 1000
    big = DATA[:600]
    assert registry.push_blob("other/app", big).status_code == 201
    denied(registry.client.post(f"/v2/acme/app/blobs/uploads/?mount={sha256(big)}&from=other/app"))


def test_a_manifest_bringing_back_blobs_the_owner_no_longer_holds_is_refused(registry: Any, quota: Any) -> None:
    """A deleted version's blobs stop counting; a manifest that references them again (the same one
    pushed again, or another) needs their bytes within the quota."""
    image = make_image(layers=[layer_tar({"big.bin": bytes(range(256)) * 4})])
    StorageQuota.objects.filter(namespace="acme").update(limit_bytes=10_000)
    assert registry.push_image("acme/app", image, "v1").status_code == 201
    used = quotas.usage_of("acme").used_bytes
    manifest = Manifest.objects.get(digest=image.digest)
    versions.version_delete(manifest=manifest, actor=ANONYMOUS)
    assert quotas.usage_of("acme").used_bytes == 0
    StorageQuota.objects.filter(namespace="acme").update(limit_bytes=used - 1)
    message = denied(registry.push_manifest("acme/app", "v1", image.manifest, image.media_type))
    assert message.endswith(f"this push needs {quotas.human_bytes(used)} more")
    manifest.refresh_from_db()
    assert manifest.deleted_at is not None
    assert not manifest.tags.exists()  # still deleted, untagged
    StorageQuota.objects.filter(namespace="acme").update(limit_bytes=used)
    assert registry.push_manifest("acme/app", "v1", image.manifest, image.media_type).status_code == 201
    assert quotas.usage_of("acme").used_bytes == used


def test_the_default_quota_applies_to_every_owner(registry: Any, settings: Any) -> None:
    settings.WHARF_QUOTA_DEFAULT_BYTES = 1500
    assert registry.push_blob("acme/app", DATA).status_code == 201
    denied(registry.push_blob("acme/app", DATA[:501] + b"!"))
    assert registry.push_blob("someone/app", DATA).status_code == 201  # per owner
    StorageQuota.objects.create(namespace="acme", limit_bytes=0)  # a site admin lifts it for acme
    assert registry.push_blob("acme/app", DATA[:501] + b"!").status_code == 201


def _push_queries(registry: Any, name: str) -> int:
    image = make_image(seed=name)
    with CaptureQueriesContext(connection) as queries:
        assert registry.push_image(name, image, "v1").status_code == 201
    return len(queries)


def test_the_checks_cost_one_query_each_without_a_limit_and_two_with_one(registry: Any, settings: Any) -> None:
    """Two blobs and a manifest: three checks. Without a limit each check reads the limit (one query);
    with a limit it also measures the usage (one aggregate query over the owner's rows)."""
    settings.WHARF_QUOTA_DEFAULT_BYTES = 0
    off = _push_queries(registry, "acme/off")
    settings.WHARF_QUOTA_DEFAULT_BYTES = 10**9
    on = _push_queries(registry, "acme/on")
    assert on - off == 3
