"""The base class of every registry view and the responses several views share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import HttpResponse
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.views import APIView

from packages_app.access import Action, Actor, Seen
from packages_app.models import Package
from packages_app.names import parse_name
from packages_app.selectors import package_get

from .. import auth
from ..errors import exception_handler


class IgnoreAccept(BaseContentNegotiation):
    """Registry clients send OCI media types in Accept; DRF must not answer them 406."""

    def select_renderer(self, request: Any, renderers: Iterable[BaseRenderer], format_suffix: str | None = None) -> Any:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type

    def select_parser(self, request: Any, parsers: Iterable[Any]) -> None:
        return None


class RegistryView(APIView):
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    parser_classes: list[Any] = []
    renderer_classes = [JSONRenderer]
    content_negotiation_class = IgnoreAccept

    def get_exception_handler(self) -> Any:
        return exception_handler

    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        # A HEAD answer carries the headers of the GET answer and no body, errors included.
        if request.method == "HEAD" and getattr(response, "data", None) is not None:
            response.data = None
        return super().finalize_response(request, response, *args, **kwargs)

    def readable(self, request: Any, name: str) -> None:
        """Raise unless the caller may pull ``name`` (to whom it may not, it does not exist)."""
        parse_name(name)
        auth.require(request, name, Action.PULL)

    def readable_package(self, request: Any, name: str) -> Package:
        """The package ``name`` if the caller may pull it; otherwise it does not exist."""
        self.readable(request, name)
        return package_get(name=name)

    def writable(self, request: Any, name: str, action: Action = Action.PUSH, seen: Seen | None = None) -> Actor:
        """The caller, if it may do ``action`` (a write) on ``name``; ``seen``: as for ``auth.require``."""
        parse_name(name)
        return auth.require(request, name, action, seen)


def empty(status: int, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(status=status, headers=headers)
    response.headers["Content-Length"] = "0"
    return response
