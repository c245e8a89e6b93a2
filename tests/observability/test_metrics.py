"""/metrics: who may scrape it, that the counters move with pushes, and that no label is a name."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.oci import make_image

TOKEN = "a-metrics-token-of-some-length"
SCRAPE: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


@pytest.fixture
def metrics_on(settings: Any) -> None:
    settings.WHARF_METRICS, settings.WHARF_METRICS_TOKEN = "token", TOKEN
    settings.MIDDLEWARE = ["observability.middleware.MetricsMiddleware", *settings.MIDDLEWARE]


def samples(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = client.get("/metrics", **SCRAPE)
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(answer.content.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


@pytest.mark.django_db
def test_metrics_are_off_by_default_and_need_the_token(client: Client, settings: Any) -> None:
    assert client.get("/metrics", **SCRAPE).status_code == 404
    settings.WHARF_METRICS, settings.WHARF_METRICS_TOKEN = "token", TOKEN
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token-of-some-length").status_code == 404
    assert client.get("/metrics", **SCRAPE).status_code == 200


def test_pushes_move_the_counters_and_names_never_become_labels(
    metrics_on: None, registry: Any, client: Client
) -> None:
    def push(count: int, prefix: str) -> None:
        for i in range(count):
            assert registry.push_image(f"acme/{prefix}{i}", make_image(seed=f"{prefix}{i}"), "v1").status_code == 201

    push(3, "a")
    before = samples(client)
    push(3, "b")
    after = samples(client)
    put = ("wharf_registry_requests_total", (("method", "PUT"), ("operation", "v2-manifest"), ("status", "201")))
    assert after[put] - before[put] == 3
    assert after[("wharf_registry_bytes_received_total", ())] > before[("wharf_registry_bytes_received_total", ())]
    assert set(after) == set(before)  # three more packages, not one more series
    assert not any("acme/" in value for _, labels in after for _, value in labels)
    assert after[("wharf_upload_sessions_open", ())] == 0
