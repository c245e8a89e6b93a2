"""``GET /v2/<name>/referrers/<digest>`` with the ``artifactType`` filter (end-12a, end-12b)."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse

from packages_app import selectors
from packages_app.exceptions import NameUnknown
from packages_app.manifests import OCI_INDEX
from packages_app.names import parse_digest

from .common import RegistryView


class ReferrersView(RegistryView):
    def get(self, request: Any, name: str, digest: str) -> HttpResponse:
        """distribution-spec "Listing Referrers": a registry that supports the API MUST NOT answer 404.
        A repository never pushed, and so (to whoever may not read it) a private one, lists nothing."""
        parse_digest(digest)
        artifact_type = request.query_params.get("artifactType") or None
        try:
            package = self.readable_package(request, name)
        except NameUnknown:
            manifests: list[dict[str, Any]] = []
        else:
            manifests = selectors.referrers_list(package=package, digest=digest, artifact_type=artifact_type)
        body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests})
        response = HttpResponse(body, content_type=OCI_INDEX)
        if artifact_type:
            response.headers["OCI-Filters-Applied"] = "artifactType"
        return response
