"""/metrics scraped from a real gunicorn (two worker processes, samples summed through
PROMETHEUS_MULTIPROC_DIR) while pushes run; and the separate listener of ``WHARF_METRICS=bind``."""

from __future__ import annotations

import http.client
import threading

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import WharfServer, free_port
from tests.oci import make_image

pytestmark = pytest.mark.e2e

TOKEN = "e2e-metrics-token-0123456789"
PUT = ("wharf_registry_requests_total", (("method", "PUT"), ("operation", "v2-manifest"), ("status", "201")))
RECEIVED = ("wharf_registry_bytes_received_total", ())
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def push(server: WharfServer, name: str, seed: str) -> None:
    image = make_image(seed=seed)
    for digest, data in image.blobs.items():
        assert server.request("POST", f"/v2/{name}/blobs/uploads/?digest={digest}", data).status == 201
    answer = server.request("PUT", f"/v2/{name}/manifests/v1", image.manifest, {"Content-Type": image.media_type})
    assert answer.status == 201


def scrape(server: WharfServer) -> Samples:
    answer = server.request("GET", "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status == 200, answer.body[:500]
    return parse(answer.body.decode())


def test_counters_move_while_pushes_run_and_series_do_not_grow_with_packages(wharf_server: WharfServer) -> None:
    wharf_server.extra_env.update({"WHARF_METRICS": "token", "WHARF_METRICS_TOKEN": TOKEN})
    wharf_server.restart()
    assert wharf_server.request("GET", "/metrics").status == 404  # no token, no metrics
    for i in range(3):
        push(wharf_server, f"acme/first{i}", f"first{i}")
    before = scrape(wharf_server)

    def push_more() -> None:
        for i in range(6):
            push(wharf_server, f"acme/second{i}", f"second{i}")

    pushing = threading.Thread(target=push_more)
    pushing.start()
    during = [scrape(wharf_server) for _ in range(3)]
    pushing.join()
    after = scrape(wharf_server)

    assert after[PUT] - before[PUT] == 6  # both workers' counts, summed
    assert before[PUT] <= during[0][PUT] <= during[-1][PUT] <= after[PUT]
    assert after[RECEIVED] > before[RECEIVED]
    assert set(after) == set(before)  # six more packages, no new series
    assert "wharf_celery_queue_depth" in {name for name, _ in after}


def test_bind_mode_serves_metrics_on_its_own_address_only(wharf_server: WharfServer) -> None:
    port = free_port()
    wharf_server.extra_env.update({"WHARF_METRICS": "bind", "WHARF_METRICS_LISTEN": f"127.0.0.1:{port}"})
    wharf_server.restart()
    push(wharf_server, "acme/bound", "bound")
    assert wharf_server.request("GET", "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status == 404
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/metrics")
    answer = connection.getresponse()
    found = parse(answer.read().decode())
    connection.close()
    assert answer.status == 200
    assert found[PUT] == 1
