"""The embedded default store: Django's ``FileSystemStorage`` location, one file per upload.

Each upload is appended to ``_uploads/<id>`` and fsynced at the end of every chunk; committing is an
atomic ``os.replace`` into ``_blobs/<id[:2]>/<id>`` (and an fsync of the directory). While a chunk
streams in, every ``WRITEBACK_STEP`` bytes are handed to the disk at once (Linux ``sync_file_range``),
so the disk writes while the body is still arriving and the closing fsync has little left to do. Blobs are served
from their path (sendfile under gunicorn). A full disk is said as ``StorageFull``."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

from django.core.files.storage import FileSystemStorage

from ..exceptions import StorageFull, UploadGone
from ..names import Digest
from .base import UploadArea, UploadWriter

_FULL = {errno.ENOSPC, errno.EDQUOT}
WRITEBACK_STEP = 8 << 20
_SYNC_FILE_RANGE_WRITE = 2  # start writing back the range's dirty pages; do not wait for them


def _writeback_starter() -> Any:
    """Linux's ``sync_file_range`` (not in ``os``), or None elsewhere: then the fsync does it all."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong, ctypes.c_uint]
    return function


_start_writeback = _writeback_starter()


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _disk_errors() -> Iterator[None]:
    """A full disk (or quota) is the registry's condition, said as such, not an internal error."""
    try:
        yield
    except OSError as exc:
        if exc.errno in _FULL:
            raise StorageFull() from exc
        raise


class _FileWriter:
    def __init__(self, path: str, offset: int) -> None:
        try:
            self._fd = os.open(path, os.O_WRONLY)
        except FileNotFoundError:
            raise UploadGone() from None
        self._offset = self._written_back = self._end = offset
        # Bytes past the committed offset belong to a chunk that never finished (a crash, a
        # dropped connection): they are not part of the upload.
        os.ftruncate(self._fd, offset)
        os.lseek(self._fd, offset, os.SEEK_SET)

    def write(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        with _disk_errors():
            while view:
                view = view[os.write(self._fd, view) :]
        self._end += len(data)
        if _start_writeback is not None and self._end - self._written_back >= WRITEBACK_STEP:
            # Advisory: an error here (none is expected) would surface again at the fsync.
            _start_writeback(self._fd, self._written_back, self._end - self._written_back, _SYNC_FILE_RANGE_WRITE)
            self._written_back = self._end

    def finish(self) -> dict[str, Any]:
        with _disk_errors():
            os.fsync(self._fd)
        os.close(self._fd)
        self._fd = -1
        return {}

    def abort(self) -> None:
        """The chunk failed (the client went away, the disk is full): its bytes go, so a full disk
        frees itself and the file holds exactly the committed offset."""
        if self._fd < 0:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, self._offset)
        os.close(self._fd)
        self._fd = -1


class FileSystemBlobStore:
    def __init__(self, storage: FileSystemStorage) -> None:
        self.storage = storage
        self.root = str(storage.location)

    def _upload_path(self, upload_id: str) -> str:
        return os.path.join(self.root, "_uploads", upload_id)

    def start(self, upload_id: str) -> dict[str, Any]:
        with _disk_errors():
            os.makedirs(os.path.join(self.root, "_uploads"), exist_ok=True)
            os.close(os.open(self._upload_path(upload_id), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o640))
        return {}

    def writer(self, upload_id: str, offset: int, state: dict[str, Any]) -> UploadWriter:
        return _FileWriter(self._upload_path(upload_id), offset)

    def _final_key(self, upload_id: str) -> str:
        return f"_blobs/{upload_id[:2]}/{upload_id}"

    def commit(self, upload_id: str, state: dict[str, Any], digest: Digest) -> str:
        key = self._final_key(upload_id)
        final = self.storage.path(key)
        with _disk_errors():
            os.makedirs(os.path.dirname(final), exist_ok=True)
            os.replace(self._upload_path(upload_id), final)
            _fsync_dir(os.path.dirname(final))
        return key

    def committed(self, upload_id: str, state: dict[str, Any]) -> str | None:
        key = self._final_key(upload_id)
        moved = not os.path.exists(self._upload_path(upload_id)) and os.path.exists(self.storage.path(key))
        return key if moved else None

    def discard(self, upload_id: str, state: dict[str, Any]) -> None:
        # The upload's own key is never shared: if a commit got as far as moving it, it goes too.
        for path in (self._upload_path(upload_id), self.storage.path(self._final_key(upload_id))):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def upload_areas(self) -> Iterator[UploadArea]:
        folder = os.path.join(self.root, "_uploads")
        with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
            for entry in entries:
                with contextlib.suppress(FileNotFoundError):
                    started = datetime.fromtimestamp(entry.stat().st_mtime, UTC)
                    yield UploadArea(entry.name, started, {})

    def discard_area(self, area: UploadArea) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._upload_path(area.upload_id))

    def open(self, key: str) -> IO[bytes]:
        return open(self.storage.path(key), "rb")

    def local_path(self, key: str) -> str | None:
        return str(self.storage.path(key))

    def url(self, key: str) -> str | None:
        return None

    def exists(self, key: str) -> bool:
        return bool(self.storage.exists(key))

    def delete(self, key: str) -> None:
        self.storage.delete(key)

    def stored_keys(self, after: str = "") -> Iterator[str]:
        return _walk_after(self.root, (), tuple(after.split("/")) if after else ())


def _walk_after(root: str, prefix: tuple[str, ...], after: tuple[str, ...]) -> Iterator[str]:
    """The files below ``root/prefix`` in path order (segment by segment), from the first after ``after``."""
    try:
        entries = sorted(os.scandir(os.path.join(root, *prefix)), key=lambda e: e.name)
    except FileNotFoundError:
        return
    for entry in entries:
        path = (*prefix, entry.name)
        if path < after[: len(path)] or (not prefix and entry.name == "_uploads"):
            continue  # wholly before where the listing stopped, or sessions in progress
        if entry.is_dir(follow_symlinks=False):
            yield from _walk_after(root, path, after)
        elif path > after:
            yield "/".join(path)
