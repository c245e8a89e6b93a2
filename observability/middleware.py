"""Counts and times registry requests (``/v2/…`` and ``/token``) by operation: the route's name
(``v2-manifest``, ``v2-blob``, ``v2-upload``, ``registry-token``, …), never the path, so names do not
become labels. Installed only when ``WHARF_METRICS`` is not ``off``; page requests pass straight through.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from . import metrics

PULLS = {"v2-blob", "v2-manifest"}


def _operation(request: HttpRequest) -> str:
    match = request.resolver_match
    return match.url_name or "other" if match is not None else "unmatched"


class MetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        path = request.path_info
        if not (path.startswith("/v2/") or path == "/token"):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        operation, method = _operation(request), request.method or "GET"
        metrics.LATENCY.labels(operation, method).observe(time.perf_counter() - started)
        metrics.REQUESTS.labels(operation, method, str(response.status_code)).inc()
        if method == "GET" and operation in PULLS and response.status_code in (200, 206):
            length = response.headers.get("Content-Length")
            if length and length.isdigit():
                metrics.BYTES_SENT.labels(operation).inc(int(length))
        return response
