"""The packages app's state at scrape time (``observability.gauges``)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from observability.gauges import read_at_scrape

from .models import Upload


@read_at_scrape
def upload_sessions() -> Iterator[Metric]:
    yield GaugeMetricFamily("wharf_upload_sessions_open", "Blob upload sessions open.", value=Upload.objects.count())
