"""Refuses registry requests over their rate limit with ``429 TOOMANYREQUESTS``, ``Retry-After`` and the
OCI error body, before any work is done. Keys are cheap to compute (no database): the credential sent
(a hash of the ``Authorization`` header: one budget per token) or, without one, the client address
(``addresses.client_address``: ``REMOTE_ADDR``, or behind ``WHARF_TRUSTED_PROXIES`` the forwarded
one). The per-user budget across a user's tokens is checked once the caller is authenticated
(``v2api.auth``). Installed only when a limit is set."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from . import limiter
from .addresses import client_address


def too_many(retry_after: int, what: str) -> HttpResponse:
    error = {
        "code": "TOOMANYREQUESTS",
        "message": f"too many requests {what}; retry later",
        "detail": {"retry_after": retry_after},
    }
    response = HttpResponse(json.dumps({"errors": [error]}), status=429, content_type="application/json")
    response["Retry-After"] = str(retry_after)
    return response


def _key(request: HttpRequest) -> tuple[str, int, str]:
    credential = request.META.get("HTTP_AUTHORIZATION", "")
    endpoint = "token" if request.path_info == "/token" else "v2"
    if credential:
        digest = hashlib.sha256(credential.encode("utf-8", "replace")).hexdigest()[:32]
        return f"{endpoint}:cred:{digest}", int(settings.WHARF_RATE_LIMIT_TOKEN), "for this token"
    address = client_address(request)
    return f"{endpoint}:addr:{address}", int(settings.WHARF_RATE_LIMIT_ANONYMOUS), "from this address"


class RateLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        path = request.path_info
        if path.startswith("/v2/") or path == "/token":
            key, limit, what = _key(request)
            if (wait := limiter.hit(key, limit)) is not None:
                return too_many(wait, what)
        return self.get_response(request)
