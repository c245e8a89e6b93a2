"""The content-addressed blob store, over Django's storage API. No HTTP here.

Two stores share one interface (``stores/base.py``: ``BlobStore``), and ``blob_store()`` picks one
from the ``blobs`` storage Django is configured with:

* ``stores/filesystem.py``, the embedded default: one file per upload, fsynced per chunk, committed
  by an atomic rename; blobs served from their path (sendfile under gunicorn).
* ``stores/s3.py`` (django-storages): a multipart upload fed part by part as bytes arrive, completed
  at commit so nothing is re-read; blobs served by a short-lived presigned URL.

An upload's bytes never become visible by themselves: ``uploads.upload_finish`` writes the
``Blob`` row only after the digest verified and the store committed.

Every committed key is named after the upload that wrote it, never after the content: a key belongs to
exactly one ``Blob`` row (or to nothing, once its upload turned out to be a duplicate), so garbage
collection can delete a collected blob's bytes without touching bytes a concurrent upload of the same
content has just committed (a content-addressed path would be shared by both).
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages

from .stores.base import BlobStore, UploadArea, UploadWriter, upload_id_of
from .stores.filesystem import FileSystemBlobStore
from .stores.s3 import S3BlobStore, with_content_md5

__all__ = [
    "BlobStore",
    "FileSystemBlobStore",
    "S3BlobStore",
    "UploadArea",
    "UploadWriter",
    "blob_store",
    "make_blob_store",
    "upload_id_of",
    "with_content_md5",
]


def make_blob_store(storage: Storage, part_size: int) -> BlobStore:
    """Pick the store for a Django storage: the filesystem one or the S3 one."""
    if isinstance(storage, FileSystemStorage):
        return FileSystemBlobStore(storage)
    if hasattr(storage, "bucket_name") and hasattr(storage, "connection"):
        return S3BlobStore(storage, part_size)
    raise TypeError(f"no blob store for storage {type(storage).__name__}")


@cache
def blob_store() -> BlobStore:
    return make_blob_store(storages["blobs"], settings.WHARF_S3_PART_SIZE)
