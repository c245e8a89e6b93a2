"""The webhooks app's state at scrape time (``observability.gauges``)."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, Metric

from observability.gauges import read_at_scrape

from .models import Delivery


@read_at_scrape
def deliveries() -> Iterator[Metric]:
    logged = CounterMetricFamily(
        "wharf_webhook_deliveries",
        "Webhook deliveries logged, by status (succeeded, failed, retrying, pending).",
        labels=["status"],
    )
    counts = dict(Delivery.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    for status in Delivery.Status.values:
        logged.add_metric([status], counts.get(status, 0))
    yield logged
