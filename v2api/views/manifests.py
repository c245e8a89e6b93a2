"""Manifests: ``GET``/``HEAD``/``PUT``/``DELETE /v2/<name>/manifests/<reference>`` (end-3, end-7, end-9)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponse

from packages_app import pull_counts, selectors
from packages_app.access import Action
from packages_app.exceptions import ManifestUnknown
from packages_app.names import is_digest_reference, parse_name
from packages_app.selectors import PulledManifest
from packages_app.services.manifests import manifest_delete, manifest_put
from packages_app.services.tags import tag_delete

from .. import auth
from ..headers import accepts
from ..streams import read_limited
from .common import RegistryView, empty


def _manifest_headers(manifest: PulledManifest) -> dict[str, str]:
    return {
        "Content-Type": manifest.media_type,
        "Docker-Content-Digest": manifest.digest,
        "ETag": f'"{manifest.digest}"',
        "Content-Length": str(manifest.size),
    }


class ManifestView(RegistryView):
    def _negotiated(self, request: Any, name: str, reference: str) -> PulledManifest:
        """The manifest, if the caller may pull it and accepts its type. It is looked up first, with its
        package, so that one query also decides a public pull (and checks a remembered decision); the
        caller is refused before anything about the manifest is said, and to anyone who may not read the
        package it costs the same work as a name that does not exist (the same lookup, then the roles)."""
        parse_name(name)
        manifest = selectors.manifest_find(name=name, reference=reference)
        auth.require(request, name, Action.PULL, manifest.package if manifest else None)
        if manifest is None:
            raise selectors.manifest_missing(name=name, reference=reference)
        if not accepts(request.META.get("HTTP_ACCEPT"), manifest.media_type):
            raise ManifestUnknown(
                f"manifest is {manifest.media_type}, which the Accept header does not allow",
                detail={"mediaType": manifest.media_type},
            )
        return manifest

    def get(self, request: Any, name: str, reference: str) -> HttpResponse:
        manifest = self._negotiated(request, name, reference)
        pull_counts.record(manifest_id=manifest.id)
        return HttpResponse(manifest.content, headers=_manifest_headers(manifest))

    def head(self, request: Any, name: str, reference: str) -> HttpResponse:
        manifest = self._negotiated(request, name, reference)
        return HttpResponse(headers=_manifest_headers(manifest))

    def put(self, request: Any, name: str, reference: str) -> HttpResponse:
        actor = self.writable(request, name)
        body = read_limited(request, settings.WHARF_MAX_MANIFEST_SIZE)
        manifest, parsed = manifest_put(
            name=name,
            reference=reference,
            body=body,
            content_type=request.META.get("CONTENT_TYPE", ""),
            tags=request.query_params.getlist("tag"),
            user=actor.user,
            actor=actor.label,
            repository_id=auth.publishing_repository(actor),
        )
        headers = {"Location": f"/v2/{name}/manifests/{manifest.digest}", "Docker-Content-Digest": manifest.digest}
        if parsed.subject:
            headers["OCI-Subject"] = parsed.subject.digest
        if tags := request.query_params.getlist("tag"):
            headers["OCI-Tag"] = ", ".join(tags)
        return empty(201, headers)

    def delete(self, request: Any, name: str, reference: str) -> HttpResponse:
        actor = self.writable(request, name, Action.DELETE)
        if is_digest_reference(reference):  # a soft delete, as on the pages and in the REST API
            manifest_delete(name=name, digest=reference, actor=actor)
        else:
            tag_delete(name=name, tag=reference, actor=actor)
        return empty(202)
