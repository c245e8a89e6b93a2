"""Blobs: ``GET``/``HEAD``/``DELETE /v2/<name>/blobs/<digest>`` (end-2, end-10)."""

from __future__ import annotations

from typing import IO, Any

from django.http import FileResponse, HttpResponse, HttpResponseRedirect

from packages_app import reviews, selectors
from packages_app.access import Action
from packages_app.models import Blob
from packages_app.names import parse_name
from packages_app.services.blobs import blob_unlink
from packages_app.storage import blob_store

from .. import auth
from ..headers import blob_range
from .common import RegistryView, empty


def _blob_headers(blob: Blob) -> dict[str, str]:
    return {
        "Docker-Content-Digest": blob.digest,
        "Content-Type": "application/octet-stream",
        "Accept-Ranges": "bytes",
        "ETag": f'"{blob.digest}"',
        "Cache-Control": "max-age=31536000",
    }


class _Span:
    """The ``length`` bytes of ``stream`` from its current position: a ranged answer must stop at the
    range's end, whatever the server does with Content-Length (no ``fileno``, so no sendfile)."""

    def __init__(self, stream: IO[bytes], length: int) -> None:
        self.stream, self.remaining = stream, length

    def read(self, size: int = -1) -> bytes:
        size = self.remaining if size < 0 else min(size, self.remaining)
        data = self.stream.read(size) if size else b""
        self.remaining -= len(data)
        return data

    def close(self) -> None:
        self.stream.close()


def blob_response(blob: Blob, range_header: str | None) -> HttpResponse | FileResponse:
    """The blob's bytes: a presigned redirect on S3, else the file itself, sent by the server
    with sendfile (gunicorn's wsgi.file_wrapper) from the range's start for its length."""
    store = blob_store()
    url = store.url(blob.storage_key)
    if url:
        redirect = HttpResponseRedirect(url, headers={"Docker-Content-Digest": blob.digest})
        redirect.status_code = 307
        return redirect
    span = blob_range(range_header, blob.size)
    stream = store.open(blob.storage_key)
    headers = _blob_headers(blob)
    if span is None:
        response = FileResponse(stream, headers=headers)
        response.headers["Content-Length"] = str(blob.size)
        return response
    start, end = span
    stream.seek(start)
    response = FileResponse(_Span(stream, end - start + 1), status=206, headers=headers)
    response.headers["Content-Length"] = str(end - start + 1)
    response.headers["Content-Range"] = f"bytes {start}-{end}/{blob.size}"
    return response


class BlobView(RegistryView):
    def _readable_blob(self, request: Any, name: str, digest: str) -> Blob:
        """The blob, if the caller may pull ``name``: looked up first with its package (one query also
        decides a public pull or checks a remembered decision), refused as ``ManifestView`` does."""
        parse_name(name)
        found = selectors.blob_find(name=name, digest=digest)
        auth.require(request, name, Action.PULL, found[1] if found else None)
        if found is None:
            raise selectors.blob_missing(name=name, digest=digest)
        return found[0]

    def get(self, request: Any, name: str, digest: str) -> HttpResponse | FileResponse:
        blob = self._readable_blob(request, name, digest)
        return blob_response(blob, request.META.get("HTTP_RANGE"))

    def head(self, request: Any, name: str, digest: str) -> HttpResponse:
        blob = self._readable_blob(request, name, digest)
        if blob.review_due_soon:  # type: ignore[attr-defined]  # annotated by the selector
            reviews.blob_review_postpone(blob=blob)
        response = HttpResponse(status=200, headers=_blob_headers(blob))
        response.headers["Content-Length"] = str(blob.size)
        return response

    def delete(self, request: Any, name: str, digest: str) -> HttpResponse:
        self.writable(request, name, Action.DELETE)
        blob_unlink(name=name, digest=digest)
        return empty(202)
