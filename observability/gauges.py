"""What the apps report at scrape time: each app registers a reading of its own state (``read_at_scrape``,
from its AppConfig.ready), so the metrics endpoint reads the shared state (the database, the broker)
without importing any app's models: observability depends on no domain app, they depend on it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client.core import Metric

Reading = Callable[[], Iterable[Metric]]

_readings: list[Reading] = []


def read_at_scrape(reading: Reading) -> Reading:
    """Register ``reading`` (once): its metrics are yielded at every scrape, by whichever process answers."""
    if reading not in _readings:
        _readings.append(reading)
    return reading


def registered() -> Iterator[Metric]:
    for reading in list(_readings):
        yield from reading()
