"""Headers every response carries (distribution-spec "Determining Support"), and the registry's answer
to a Host header outside WHARF_ALLOWED_HOSTS: an OCI error body, not Django's HTML 400 page."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, HttpResponseBase

API_VERSION_HEADER = ("Docker-Distribution-API-Version", "registry/2.0")


def _is_registry_request(request: HttpRequest) -> bool:
    return request.path_info.startswith("/v2/") or request.path_info == "/token"


def disallowed_host_response() -> HttpResponse:
    error = {"code": "DENIED", "message": "this registry does not answer to that Host header", "detail": None}
    return HttpResponse(json.dumps({"errors": [error]}), status=400, content_type="application/json")


class RegistryHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if _is_registry_request(request):
            try:
                request.get_host()  # CommonMiddleware would raise it later, answered as an HTML page
            except DisallowedHost:
                response: HttpResponseBase = disallowed_host_response()
            else:
                response = self.get_response(request)
        else:
            response = self.get_response(request)
        response.headers.setdefault(*API_VERSION_HEADER)
        return response
