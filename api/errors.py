"""The REST API's one table from domain errors to HTTP answers, and the handler every ``ApiView`` uses.

The body is GitHub's, ``{"message": …}``. A package the caller cannot read answers the same 404 as a
missing one, so every ``NotFound`` says only "Not Found", whatever the domain knows."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from packages_app import exceptions as domain

NOT_FOUND = "Not Found"
FORBIDDEN = "Forbidden"

# Looked up along the error's class hierarchy: the most specific entry wins. ``None``: the error's own
# message. Statuses as GitHub's REST API answers: 422 for a value it refuses, 409 for a clash.
STATUSES: dict[type[domain.RegistryError], tuple[int, str | None]] = {
    domain.NotFound: (404, NOT_FOUND),
    domain.InvalidInput: (422, None),
    domain.Conflict: (409, None),
    domain.Denied: (403, None),  # PermissionRefused, a tag rule or a quota, naming itself
    domain.DeleteRefused: (400, None),
    domain.RegistryError: (400, None),
}


def status_of(exc: domain.RegistryError) -> tuple[int, str]:
    """The HTTP status and message the REST API answers ``exc`` with."""
    for cls in type(exc).__mro__:
        if cls in STATUSES:
            status, message = STATUSES[cls]
            return status, message or exc.message or FORBIDDEN
    raise AssertionError("RegistryError is in the table")  # pragma: no cover


def domain_error_response(exc: domain.RegistryError) -> Response:
    status, message = status_of(exc)
    return Response({"message": message}, status=status)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Domain errors through ``STATUSES``; DRF's own (authentication, parsing, a serializer's field
    errors) as DRF answers them, with ``detail`` renamed ``message``."""
    if isinstance(exc, domain.RegistryError):
        return domain_error_response(exc)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"message": str(response.data["detail"])}
    elif response is not None and not isinstance(response.data, dict):
        response.data = {"message": " ".join(str(d) for d in response.data)}
    return response
