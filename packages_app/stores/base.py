"""What every blob store offers (``BlobStore``) and what the upload and garbage-collection code
sees of one: an upload's writer and the areas of uploads in progress. The stores themselves are
``filesystem.FileSystemBlobStore`` and ``s3.S3BlobStore``; ``packages_app.storage`` picks one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Protocol

from ..names import Digest


@dataclass(frozen=True)
class UploadArea:
    """Bytes of an upload in progress, as the store holds them (a file, a multipart upload, tails)."""

    upload_id: str
    started: datetime
    state: dict[str, Any]


class UploadWriter(Protocol):
    def write(self, data: bytes | memoryview) -> None: ...

    def finish(self) -> dict[str, Any]:
        """Make everything written durable and return the new ``storage_state``."""

    def abort(self) -> None: ...


class BlobStore(Protocol):
    def start(self, upload_id: str) -> dict[str, Any]: ...

    def writer(self, upload_id: str, offset: int, state: dict[str, Any]) -> UploadWriter:
        """A writer appending after ``offset``; ``UploadGone`` if the upload's bytes are not there."""

    def commit(self, upload_id: str, state: dict[str, Any], digest: Digest) -> str:
        """Turn a finished upload into a stored blob; returns its storage key."""

    def committed(self, upload_id: str, state: dict[str, Any]) -> str | None:
        """The key ``commit`` stored the upload under, if it got that far (a crash may have come before
        its ``Blob`` row); None while the upload is in progress."""

    def discard(self, upload_id: str, state: dict[str, Any]) -> None: ...

    def upload_areas(self) -> Iterator[UploadArea]:
        """Every upload in progress the store holds bytes for, with or without a session row."""

    def discard_area(self, area: UploadArea) -> None:
        """Remove an upload area's in-progress bytes, never a committed key."""

    def open(self, key: str) -> IO[bytes]: ...

    def local_path(self, key: str) -> str | None: ...

    def url(self, key: str) -> str | None: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def stored_keys(self, after: str = "") -> Iterator[str]:
        """Every committed key (not the ``_uploads/`` area of sessions in progress), in order, from the
        first one after ``after`` (where an interrupted listing stopped)."""


def upload_id_of(key: str) -> str:
    """The upload that committed ``key`` (its last segment): ``_blobs/ab/<id>`` or ``_blobs/<id>``."""
    return key.rsplit("/", 1)[-1]
