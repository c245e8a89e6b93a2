"""Blob uploads: ``POST /v2/<name>/blobs/uploads/`` (end-4a, end-4b, end-11) and
``GET``/``PATCH``/``PUT``/``DELETE /v2/<name>/blobs/uploads/<id>`` (end-13, end-5, end-6, end-14)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.http import HttpResponse

from packages_app import selectors, uploads
from packages_app.access import Action, Actor, Seen, challenge_scope, grant_would_allow, live_seen
from packages_app.exceptions import BlobUploadUnknown, InsufficientScope, NameInvalid, Unauthorized
from packages_app.models import Blob, Upload
from packages_app.names import parse_digest, parse_name
from packages_app.services.blobs import blob_mount

from .. import auth
from ..headers import content_range, upload_range
from ..streams import body_chunks, body_length
from .common import RegistryView, empty


def _session_response(status: int, name: str, upload: Upload) -> HttpResponse:
    return empty(
        status,
        {
            "Location": f"/v2/{name}/blobs/uploads/{upload.id}",
            "Range": upload_range(upload.offset),
            "Docker-Upload-UUID": str(upload.id),
        },
    )


def _created(name: str, blob: Blob) -> HttpResponse:
    return empty(201, {"Location": f"/v2/{name}/blobs/{blob.digest}", "Docker-Content-Digest": blob.digest})


def _source_name(params: Any) -> str | None:
    """The valid ``from`` of a mount request, else None (then no mount is tried)."""
    source = params.get("from") if "mount" in params else None
    if not source:
        return None
    try:
        parse_name(source)
    except NameInvalid:
        return None
    return str(source)


def _mountable_source(request: Any, name: str, source: str | None) -> str | None:
    """The mount source, if the caller may read it (otherwise: no mount, no hint). A registry token
    that lacks ``SRC:pull`` while the caller's credentials would get it is sent back for one (as the
    reference registry does), so token clients mount instead of uploading again."""
    if source is None or auth.allowed(request, source, Action.PULL):
        return source
    if grant_would_allow(auth.actor_for(request), source, Action.PULL):
        scope = f"{challenge_scope(name, Action.PUSH)} {challenge_scope(source, Action.PULL)}"
        raise InsufficientScope("the registry token does not grant pull on the mount source", scope=scope)
    return None


class UploadStartView(RegistryView):
    def post(self, request: Any, name: str) -> HttpResponse:
        params = request.query_params
        source = _source_name(params)
        parse_name(name)
        seen = live_seen(name)  # one lookup: the gate's remembered decision, and the session's package
        actor = self._writer(request, name, source, seen)
        publisher = auth.publishing_repository(actor)
        package_id = seen.id if seen is not None else None
        if "mount" in params:
            parse_digest(params["mount"])
            source = _mountable_source(request, name, source)
            blob = (
                blob_mount(name=name, digest=params["mount"], source=source, user=actor.user, repository_id=publisher)
                if source
                else None
            )
            if blob is not None:
                return _created(name, blob)
        elif "digest" in params:
            whole = uploads.Chunk(body_chunks(request), length=body_length(request))
            digest = params["digest"]
            blob = uploads.blob_upload_monolithic(
                name=name, digest=digest, chunk=whole, user=actor.user, repository_id=publisher, package_id=package_id
            )
            return _created(name, blob)
        upload = uploads.upload_start(name=name, user=actor.user, repository_id=publisher, package_id=package_id)
        return _session_response(202, name, upload)

    def _writer(self, request: Any, name: str, source: str | None, seen: Seen | None) -> Actor:
        """The caller, if it may push to ``name``. A challenge for a mount also asks for pull on its
        source, so a token client gets both in one token (distribution does the same)."""
        try:
            return self.writable(request, name, seen=seen)
        except Unauthorized as exc:
            if source is not None:
                exc.scope = f"{exc.scope} {challenge_scope(source, Action.PULL)}".strip()
            raise


class UploadView(RegistryView):
    def get(self, request: Any, name: str, upload_id: str) -> HttpResponse:
        actor = self.writable(request, name)
        upload = selectors.upload_get(name=name, upload_id=upload_id, user=actor.user)
        return _session_response(204, name, upload)

    def _session(self, request: Any, name: str, upload_id: str) -> tuple[User | None, Upload]:
        """The caller's user and their session, if the caller may push to ``name``. The session is read
        first, with its package: that one query also confirms a remembered push decision. A caller who
        may not push is refused before anything is said of the session (which is not theirs anyway)."""
        parse_name(name)
        user = auth.actor_for(request).user
        found = selectors.upload_find(name=name, upload_id=upload_id, user=user)
        self.writable(request, name, seen=found[1] if found is not None else None)
        if found is None:
            raise BlobUploadUnknown()
        return user, found[0]

    def _chunk(self, request: Any, upload: Upload) -> uploads.Chunk:
        """The request body with its Content-Range and Content-Length (a malformed Content-Range: the
        416 says where the session stands)."""
        start, end = content_range(request.META.get("HTTP_CONTENT_RANGE"), lambda: upload.offset)
        return uploads.Chunk(body_chunks(request), start=start, end=end, length=body_length(request))

    def patch(self, request: Any, name: str, upload_id: str) -> HttpResponse:
        user, upload = self._session(request, name, upload_id)
        chunk = self._chunk(request, upload)
        upload = uploads.upload_append(name=name, upload_id=upload_id, chunk=chunk, user=user, upload=upload)
        return _session_response(202, name, upload)

    def put(self, request: Any, name: str, upload_id: str) -> HttpResponse:
        user, upload = self._session(request, name, upload_id)
        chunk = self._chunk(request, upload)
        digest = request.query_params.get("digest", "")
        blob = uploads.upload_finish(
            name=name, upload_id=upload_id, digest=digest, chunk=chunk, user=user, upload=upload
        )
        return _created(name, blob)

    def delete(self, request: Any, name: str, upload_id: str) -> HttpResponse:
        actor = self.writable(request, name)
        uploads.upload_cancel(name=name, upload_id=upload_id, user=actor.user)
        return empty(204)
