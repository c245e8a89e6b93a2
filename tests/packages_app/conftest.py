"""The two blob stores under test: the filesystem one and the S3 one, against a local moto server.

``backend`` is parametrized over both, so a test that takes it (or ``store``) runs twice. It also points
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


def s3_options(endpoint: str) -> dict[str, Any]:
    return {
        "bucket_name": BUCKET,
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "access_key": "testing",
        "secret_key": "testing",
        "addressing_style": "path",
        "default_acl": None,
        "file_overwrite": True,
        "querystring_expire": 300,
    }


@pytest.fixture
def s3_client(moto_endpoint: str) -> Iterator[Any]:
    """A boto3 client on an emptied moto with one fresh bucket."""
    request = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass
    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET)
    yield client
    client.close()


def make_s3_store(endpoint: str) -> S3BlobStore:
    return S3BlobStore(S3Storage(**s3_options(endpoint)), part_size=PART_SIZE)


@pytest.fixture
def s3_store(s3_client: Any, moto_endpoint: str) -> S3BlobStore:
    return make_s3_store(moto_endpoint)


@pytest.fixture
def s3_settings(settings: Any, blob_dir: Path, s3_client: Any, moto_endpoint: str) -> str:
    """Point ``STORAGES["blobs"]`` (hence ``blob_store()``, services and views) at the S3 bucket."""
    settings.STORAGES = {
        **settings.STORAGES,
        "blobs": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": s3_options(moto_endpoint)},
    }
    settings.WHARF_S3_PART_SIZE = PART_SIZE
    storage.blob_store.cache_clear()
    return moto_endpoint


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


def _s3_backend(client: Any, endpoint: str) -> Backend:
    def keys() -> list[str]:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def multipart_uploads() -> list[str]:
        return [item["UploadId"] for item in client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])]

    return Backend(
        name="s3",
        new=lambda: make_s3_store(endpoint),
        keys=keys,
        read=lambda key: bytes(client.get_object(Bucket=BUCKET, Key=key)["Body"].read()),
        multipart_uploads=multipart_uploads,
        endpoint=endpoint,
    )


@pytest.fixture(params=["filesystem", "s3"])
def backend(request: pytest.FixtureRequest, blob_dir: Path) -> Backend:
    """Each backend in turn; ``blob_store()`` (services, views) uses the same one."""
    if request.param == "s3":
        request.getfixturevalue("s3_settings")
        return _s3_backend(request.getfixturevalue("s3_client"), request.getfixturevalue("moto_endpoint"))
    return _filesystem_backend(blob_dir)


@pytest.fixture
def store(backend: Backend) -> BlobStore:
    return backend.new()
