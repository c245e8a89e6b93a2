"""``GET /v2/`` (end-1): the API version check."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response

from .. import auth
from ..errors import error_response, oci_error
from .common import RegistryView


class ApiVersionView(RegistryView):
    def get(self, request: Any) -> Response:
        auth.require_login(request)
        return Response({})


class UnknownEndpointView(RegistryView):
    """Any other path under /v2/: an OCI error body rather than an HTML page."""

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:

        response = error_response(404, [oci_error("NAME_UNKNOWN", "no such registry endpoint")])
        self.headers = {}
        return self.finalize_response(self.initialize_request(request), response)
