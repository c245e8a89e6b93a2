"""Headers every response carries (distribution-spec "Determining Support")."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

API_VERSION_HEADER = ("Docker-Distribution-API-Version", "registry/2.0")


class RegistryHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        response.headers.setdefault(*API_VERSION_HEADER)
        return response
