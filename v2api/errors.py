"""One table from domain errors to OCI errors (distribution-spec "Error Codes"), and the handler
DRF calls for every exception a registry view raises. A client's mistake is never a 500."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from packages_app import exceptions as domain

from . import auth
from .headers import upload_range

log = logging.getLogger(__name__)

# Codes outside the OCI list (TAG_INVALID, RANGE_INVALID, PAGINATION_NUMBER_INVALID, UNAVAILABLE) are
# the ones the Docker registry uses for the same cases; clients treat unknown codes as UNKNOWN.
ERRORS: dict[type[domain.RegistryError], tuple[str, int]] = {
    domain.NameInvalid: ("NAME_INVALID", 400),
    domain.NameUnknown: ("NAME_UNKNOWN", 404),
    domain.TagInvalid: ("TAG_INVALID", 400),
    domain.DigestInvalid: ("DIGEST_INVALID", 400),
    domain.SizeInvalid: ("SIZE_INVALID", 400),
    domain.TooLarge: ("SIZE_INVALID", 413),
    domain.BlobUnknown: ("BLOB_UNKNOWN", 404),
    domain.BlobUploadUnknown: ("BLOB_UPLOAD_UNKNOWN", 404),
    domain.BlobUploadInvalid: ("BLOB_UPLOAD_INVALID", 400),
    domain.TooManyUploads: ("TOOMANYREQUESTS", 429),
    domain.StorageFull: ("UNAVAILABLE", 507),
    domain.UploadRangeInvalid: ("RANGE_INVALID", 416),
    domain.RangeNotSatisfiable: ("RANGE_INVALID", 416),
    domain.ManifestUnknown: ("MANIFEST_UNKNOWN", 404),
    domain.ManifestInvalid: ("MANIFEST_INVALID", 400),
    domain.ManifestBlobUnknown: ("MANIFEST_BLOB_UNKNOWN", 400),
    domain.PaginationInvalid: ("PAGINATION_NUMBER_INVALID", 400),
    domain.Unsupported: ("UNSUPPORTED", 405),
    domain.InsufficientScope: ("DENIED", 403),
    domain.Unauthorized: ("UNAUTHORIZED", 401),
    domain.Denied: ("DENIED", 403),
    domain.QuotaExceeded: ("DENIED", 403),
    domain.TooManyScopes: ("DENIED", 400),
    domain.TooManyRequests: ("TOOMANYREQUESTS", 429),
    # The families a service shared with the pages and the REST API may raise (no OCI code of their own).
    domain.NotFound: ("NAME_UNKNOWN", 404),
    domain.InvalidInput: ("DENIED", 400),
    domain.Conflict: ("DENIED", 409),
    domain.PermissionRefused: ("DENIED", 403),
}

# How many MANIFEST_BLOB_UNKNOWN entries one answer lists before summing up the rest.
MAX_LISTED_ERRORS = 100


def oci_error(code: str, message: str, detail: Any = None) -> dict[str, Any]:
    return {"code": code, "message": message, "detail": detail}


def error_response(status: int, errors: list[dict[str, Any]], headers: dict[str, str] | None = None) -> Response:
    return Response({"errors": errors}, status=status, headers=headers, content_type="application/json")


def _lookup(exc: domain.RegistryError) -> tuple[str, int]:
    for cls in type(exc).__mro__:
        if cls in ERRORS:
            return ERRORS[cls]
    return "UNKNOWN", 400


def _headers(exc: domain.RegistryError, request: Any) -> dict[str, str]:
    if isinstance(exc, domain.UploadRangeInvalid):
        return {"Range": upload_range(exc.offset), "Location": request.path}
    if isinstance(exc, domain.RangeNotSatisfiable):
        return {"Content-Range": f"bytes */{exc.size}"}
    if isinstance(exc, domain.TooManyRequests):
        return {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, domain.Unauthorized):
        return {"WWW-Authenticate": auth.challenge(request, exc.scope, exc.error)}
    return {}


def _blob_unknown_errors(code: str, digests: list[str]) -> list[dict[str, Any]]:
    """One entry per unknown digest, up to a cap; one more entry says how many were left out (a
    manifest citing 30,000 unknown blobs must not answer with megabytes)."""
    shown = digests[:MAX_LISTED_ERRORS]
    errors = [oci_error(code, f"blob unknown to repository: {d}", {"digest": d}) for d in shown]
    if more := len(digests) - len(shown):
        errors.append(oci_error(code, f"and {more} more unknown blobs or manifests not listed", {"more": more}))
    return errors


def domain_error_response(exc: domain.RegistryError, request: Any) -> Response:
    code, status = _lookup(exc)
    if isinstance(exc, domain.ManifestBlobUnknown):
        errors = _blob_unknown_errors(code, exc.digests)
    else:
        errors = [oci_error(code, exc.message, exc.detail)]
    return error_response(status, errors, _headers(exc, request))


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | HttpResponse:
    request = context.get("request")
    if isinstance(exc, domain.RegistryError):
        return domain_error_response(exc, request)
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        return error_response(405, [oci_error("UNSUPPORTED", "method not allowed on this endpoint")])
    if isinstance(exc, SuspiciousOperation):  # e.g. more query fields than DATA_UPLOAD_MAX_NUMBER_FIELDS
        return error_response(400, [oci_error("DENIED", str(exc))])
    if isinstance(exc, Http404):
        return error_response(404, [oci_error("NAME_UNKNOWN", "not found")])
    if isinstance(exc, drf_exceptions.APIException):
        return error_response(exc.status_code, [oci_error("UNSUPPORTED", str(exc.detail))])
    log.exception("registry request failed", exc_info=exc)
    return error_response(500, [oci_error("UNKNOWN", "internal server error")])
