"""The blob stores under test: the filesystem one and the S3 one, against a local moto server and
against OpenStack Swift's S3 API (``tests.swift_aio``, a real implementation that checks what moto
does not: presigned signatures and expiry, among others; see the README's "Object stores under test").

``backend`` is parametrized over the filesystem, moto and Swift, so a test that takes it (or ``store``)
runs three times; ``s3_server`` (and ``s3_client``, ``s3_store``, ``s3_settings``) runs an S3-only test
on moto and on Swift. It also points
``settings.STORAGES["blobs"]`` at the same storage, so services and views that call ``blob_store()``
use the backend under test. ``backend.new()`` builds a fresh store object, as another worker process
resuming an upload would.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from django.core.files.storage import FileSystemStorage
from storages.backends.s3 import S3Storage

from packages_app import storage
from packages_app.storage import BlobStore, FileSystemBlobStore, S3BlobStore
from tests import swift_aio

PART_SIZE = 5 * 1024 * 1024
BUCKET = "wharf-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto S3 server for the whole session, started from the virtualenv and stopped at the end."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    command = [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not _answers(f"{endpoint}/"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"moto_server did not start on {endpoint}")
            time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class S3Server:
    """An S3 endpoint under test: moto (fast, lenient) or Swift's s3api (a real implementation)."""

    name: str
    endpoint: str
    access_key: str = "testing"
    secret_key: str = "testing"


@pytest.fixture(scope="session")
def swift_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """OpenStack Swift all-in-one with s3api and tempauth for the whole session (``tests.swift_aio``):
    the one ``.ci/run`` started (``WHARF_TEST_SWIFT_ENDPOINT``), or one of its own."""
    if endpoint := os.environ.get("WHARF_TEST_SWIFT_ENDPOINT"):
        yield S3Server("swift", endpoint, swift_aio.ACCESS_KEY, swift_aio.SECRET_KEY)
        return
    if not swift_aio.installed():
        if os.environ.get("WHARF_REQUIRE_E2E") == "1":
            pytest.fail("Swift is not installed (swift-proxy swift-object swift-container swift-account memcached)")
        pytest.skip("Swift is not installed")
    server = swift_aio.SwiftAIO(tmp_path_factory.mktemp("swift"))
    try:
        server.start(timeout=120)
    except RuntimeError as error:
        pytest.fail(str(error))
    try:
        yield S3Server("swift", server.endpoint, swift_aio.ACCESS_KEY, swift_aio.SECRET_KEY)
    finally:
        server.stop()


def s3_server_named(request: pytest.FixtureRequest, name: str) -> S3Server:
    if name == "swift":
        server: S3Server = request.getfixturevalue("swift_server")
        return server
    return S3Server("moto", request.getfixturevalue("moto_endpoint"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every store test runs on the filesystem, moto and Swift's S3 API; every S3-only test on moto
    and Swift."""
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", ["filesystem", "s3", "swift"], indirect=True)
    if "s3_server" in metafunc.fixturenames:
        metafunc.parametrize("s3_server", ["moto", "swift"], indirect=True)


@pytest.fixture
def s3_server(request: pytest.FixtureRequest) -> S3Server:
    """Each S3 implementation in turn: moto, then Swift."""
    return s3_server_named(request, request.param)


def s3_options(server: S3Server) -> dict[str, Any]:
    return {
        "bucket_name": BUCKET,
        "endpoint_url": server.endpoint,
        "region_name": "us-east-1",
        "access_key": server.access_key,
        "secret_key": server.secret_key,
        "addressing_style": "path",
        "signature_version": "s3v4",
        "default_acl": None,
        "file_overwrite": True,
        "querystring_expire": 300,
    }


def fresh_bucket(server: S3Server) -> Any:
    """A boto3 client on an empty ``BUCKET``: moto is reset; on Swift what a test left is deleted."""
    client = storage.with_content_md5(
        boto3.client(
            "s3",
            endpoint_url=server.endpoint,
            region_name="us-east-1",
            aws_access_key_id=server.access_key,
            aws_secret_access_key=server.secret_key,
        )
    )
    if server.name == "moto":
        request = urllib.request.Request(f"{server.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass
        client.create_bucket(Bucket=BUCKET)
        return client
    if not client.list_buckets().get("Buckets"):
        client.create_bucket(Bucket=BUCKET)
    _empty(client)
    return client


def _empty(client: Any) -> None:
    for upload in client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []):
        client.abort_multipart_upload(Bucket=BUCKET, Key=upload["Key"], UploadId=upload["UploadId"])
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=BUCKET, Delete={"Objects": keys, "Quiet": True})


@pytest.fixture
def s3_client(s3_server: S3Server) -> Iterator[Any]:
    client = fresh_bucket(s3_server)
    yield client
    client.close()


def make_s3_store(server: S3Server) -> S3BlobStore:
    storage = S3Storage(**s3_options(server))  # type: ignore[no-untyped-call]  # django-storages: no annotations
    return S3BlobStore(storage, part_size=PART_SIZE)


@pytest.fixture
def s3_store(s3_client: Any, s3_server: S3Server) -> S3BlobStore:
    return make_s3_store(s3_server)


def point_blobs_at(settings: Any, server: S3Server) -> None:
    """``STORAGES["blobs"]`` (hence ``blob_store()``, services and views) on the S3 bucket."""
    settings.STORAGES = {
        **settings.STORAGES,
        "blobs": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": s3_options(server)},
    }
    settings.WHARF_S3_PART_SIZE = PART_SIZE
    storage.blob_store.cache_clear()


@pytest.fixture
def s3_settings(settings: Any, blob_dir: Path, s3_client: Any, s3_server: S3Server) -> str:
    point_blobs_at(settings, s3_server)
    return s3_server.endpoint


@dataclass
class Backend:
    """One store kind plus the means to look at what it holds, without going through the store."""

    name: str
    new: Callable[[], BlobStore]
    keys: Callable[[], list[str]]
    read: Callable[[str], bytes]
    multipart_uploads: Callable[[], list[str]]
    endpoint: str | None = None


def _filesystem_backend(root: Path) -> Backend:
    def keys() -> list[str]:
        return sorted(
            os.path.relpath(os.path.join(folder, name), root) for folder, _, names in os.walk(root) for name in names
        )

    return Backend(
        name="filesystem",
        new=lambda: FileSystemBlobStore(FileSystemStorage(location=str(root))),
        keys=keys,
        read=lambda key: (root / key).read_bytes(),
        multipart_uploads=lambda: [],
    )


def _s3_backend(client: Any, server: S3Server) -> Backend:
    def keys() -> list[str]:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def multipart_uploads() -> list[str]:
        return [item["UploadId"] for item in client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])]

    return Backend(
        name="s3",
        new=lambda: make_s3_store(server),
        keys=keys,
        read=lambda key: bytes(client.get_object(Bucket=BUCKET, Key=key)["Body"].read()),
        multipart_uploads=multipart_uploads,
        endpoint=server.endpoint,
    )


@pytest.fixture
def backend(request: pytest.FixtureRequest, blob_dir: Path, settings: Any) -> Iterator[Backend]:
    """Each backend in turn (S3 on moto, S3 on Swift); ``blob_store()`` (services, views) uses the same one."""
    if request.param == "filesystem":
        yield _filesystem_backend(blob_dir)
        return
    server = s3_server_named(request, "moto" if request.param == "s3" else "swift")
    client = fresh_bucket(server)
    point_blobs_at(settings, server)
    yield _s3_backend(client, server)
    client.close()


@pytest.fixture
def store(backend: Backend) -> BlobStore:
    return backend.new()
