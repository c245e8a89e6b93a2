"""Metrics read at scrape time from the shared state every process sees (the database, the broker),
so they are right whichever process answers the scrape: the apps' registered readings
(``observability.gauges``) and the Celery queue's depth."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from celery import current_app
from django.conf import settings
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from . import gauges

log = logging.getLogger(__name__)


def queue_depth() -> int | None:
    """Messages waiting in the registry's Celery queue (Redis or the embedded filesystem broker)."""
    try:
        with current_app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
            channel: Any = connection.default_channel  # kombu types it as the abstract StdChannel
            declared = channel.queue_declare(queue=settings.CELERY_TASK_DEFAULT_QUEUE, passive=True)
            return int(declared.message_count)
    except Exception:  # a broker that does not answer must not fail the scrape
        log.warning("could not read the Celery queue depth", exc_info=True)
        return None


class StateCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from gauges.registered()  # the apps' own readings (upload sessions, webhook deliveries, ...)
        depth = queue_depth()
        if depth is not None:
            yield GaugeMetricFamily("wharf_celery_queue_depth", "Tasks waiting in the Celery queue.", value=depth)
