"""Rate limits against real servers: two gunicorn servers (four worker processes) share one budget per
token through Redis; a flood gets 429 TOOMANYREQUESTS with Retry-After; an upload already streaming
when the budget runs out still completes."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from tests.conftest import basic, make_pat
from tests.e2e.conftest import WharfServer, server_database_url
from tests.e2e.test_storm import REDIS, redis_answers

pytestmark = pytest.mark.e2e
LIMIT = 12


@pytest.fixture
def limited(wharf_server: WharfServer, tmp_path: Path) -> Iterator[tuple[WharfServer, WharfServer]]:
    if not redis_answers():
        pytest.skip(f"Redis does not answer at {REDIS}")
    env = {
        "WHARF_RATE_LIMIT_TOKEN": str(LIMIT),
        "WHARF_RATE_LIMIT_REDIS_URL": REDIS,
        "WHARF_RATE_LIMIT_WINDOW_SECONDS": "120",
    }
    wharf_server.extra_env.update(env)
    wharf_server.restart()
    (tmp_path / "second").mkdir()
    second = WharfServer(data_dir=tmp_path / "second", database_url=server_database_url(), extra_env=dict(env))
    second.start()
    try:
        yield wharf_server, second
    finally:
        second.stop()


def test_two_servers_share_one_budget_per_token_and_a_slow_upload_completes(
    limited: tuple[WharfServer, WharfServer],
) -> None:
    first, second = limited
    alice = get_user_model().objects.create_user("alice", "alice@example.com", "correct horse battery")
    auth = {"Authorization": basic("alice", make_pat(alice, "read:packages", "write:packages"))}

    started = first.request("POST", "/v2/alice/slow/blobs/uploads/", headers=auth)  # 1 of the budget
    assert started.status == 202, started.body
    body = b"x" * (2 << 20)
    patched: dict[str, Any] = {}
    opened = threading.Event()

    def slow_patch() -> None:  # 2 of the budget, counted when it starts; then it streams for ~3 s
        connection = http.client.HTTPConnection("127.0.0.1", first.port, timeout=60)
        connection.putrequest("PATCH", started.headers["Location"])
        for name, value in {
            **auth,
            "Content-Type": "application/octet-stream",
            "Content-Length": str(len(body)),
        }.items():
            connection.putheader(name, value)
        connection.endheaders()
        for i in range(0, len(body), len(body) // 8):
            connection.send(body[i : i + len(body) // 8])
            opened.set()
            time.sleep(0.4)
        answer = connection.getresponse()
        patched.update(status=answer.status, range=answer.headers.get("Range"))
        connection.close()

    streaming = threading.Thread(target=slow_patch)
    streaming.start()
    assert opened.wait(10)
    statuses = [(first if i % 2 else second).request("GET", "/v2/", headers=auth) for i in range(2 * LIMIT)]
    streaming.join()

    allowed = [a for a in statuses if a.status == 200]
    refused = [a for a in statuses if a.status == 429]
    assert len(allowed) == LIMIT - 2
    assert len(refused) == LIMIT + 2  # one budget for both servers
    assert {a.status for a in statuses[: LIMIT - 2]} == {200}
    for answer in refused:
        assert 1 <= int(answer.headers["Retry-After"]) <= 120
        assert json.loads(answer.body)["errors"][0]["code"] == "TOOMANYREQUESTS"
    assert patched == {"status": 202, "range": f"0-{len(body) - 1}"}  # the stream in progress was not cut
