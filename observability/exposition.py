"""The text a scrape gets: this process's (or, under gunicorn, every process's) samples and the
state read at scrape time; and who may scrape (``WHARF_METRICS``):

* ``off`` (default): no ``/metrics`` at all (404), and no middleware on the request path;
* ``token``: ``/metrics`` on the site, for ``Authorization: Bearer $WHARF_METRICS_TOKEN`` only;
* ``bind``: not on the site; a separate listener on ``WHARF_METRICS_LISTEN`` (started by gunicorn's
  master, ``registry_site/gunicorn.conf.py``), for a network only Prometheus reaches.
"""

from __future__ import annotations

import hmac
import os

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from .collectors import StateCollector


def scrape() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)  # type: ignore[no-untyped-call]  # prometheus_client leaves it unannotated
        samples = generate_latest(processes)
    else:
        samples = generate_latest(REGISTRY)
    state = CollectorRegistry()
    state.register(StateCollector())
    return samples + generate_latest(state)


def _token_ok(request: HttpRequest) -> bool:
    expected = str(settings.WHARF_METRICS_TOKEN)
    given = request.META.get("HTTP_AUTHORIZATION", "")
    return bool(expected) and hmac.compare_digest(given.encode(), f"Bearer {expected}".encode())


def metrics_view(request: HttpRequest) -> HttpResponse:
    """``GET /metrics``: only with ``WHARF_METRICS=token`` and the token; to anyone else a 404."""
    if settings.WHARF_METRICS != "token" or not _token_ok(request):
        raise Http404("Not Found")
    return HttpResponse(scrape(), content_type=CONTENT_TYPE_LATEST)
