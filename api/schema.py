"""drf-spectacular hooks: the schema describes the REST API only (not ``/token`` or ``/v2/``), with
the personal access token as its security scheme, and the views' annotations (``api.openapi``).

Loaded only when a schema is generated (``SPECTACULAR_SETTINGS["DEFAULT_GENERATOR_CLASS"]`` names
``Generator``): the docs views (``api.urls``) and ``manage.py spectacular``. Defining
``PersonalAccessTokenScheme`` registers it with drf-spectacular.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request

from . import openapi


def only_the_rest_api(endpoints: list[tuple[str, str, str, Any]], **kwargs: Any) -> list[tuple[str, str, str, Any]]:
    return [e for e in endpoints if e[0].startswith("/api/") and not e[0].startswith(("/api/schema", "/api/docs"))]


def _annotate(method: Any, kwargs: dict[str, Any]) -> None:
    extend_schema(**kwargs)(method)


class Generator(SchemaGenerator):
    """drf-spectacular's generator, with the views' recorded annotations applied first."""

    def get_schema(self, request: Request | None = None, public: bool = False) -> dict[str, Any]:
        openapi.apply_pending(_annotate)
        schema: dict[str, Any] = super().get_schema(request, public)  # type: ignore[no-untyped-call]
        return schema


class PersonalAccessTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """The schema's security scheme for ``PersonalAccessTokenAuthentication``: Swagger UI's "Authorize"
    takes a personal access token (``wharf_pat_…``) and sends it as ``Authorization: Bearer``."""

    target_class = "api.authentication.PersonalAccessTokenAuthentication"
    name = "personalAccessToken"
    priority = 1

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "wharf_pat_…",
            "description": "A personal access token from Settings → Tokens (scopes read:packages, "
            "write:packages, delete:packages bound what it may do).",
        }
