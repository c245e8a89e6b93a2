"""Webhook fixtures: Celery tasks run in the test process (eager), a real HTTP listener on loopback that
the allow-list lets hooks call, and a count of every outgoing connection this process attempts."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from registry_site.celery import app as celery_app
from tests.webhooks.listener import Listener, listening

_connects: list[list[Any]] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect" and _connects:
        _connects[-1].append(args[1])


sys.addaudithook(_audit)


@pytest.fixture
def eager() -> Iterator[None]:
    """Enqueued tasks run at once, in this process (retries too, without their countdown)."""
    celery_app.conf.task_always_eager = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = False


@pytest.fixture
def connects() -> Iterator[list[Any]]:
    """Every address a socket of this process tries to connect to while the test runs."""
    seen: list[Any] = []
    _connects.append(seen)
    try:
        yield seen
    finally:
        _connects.remove(seen)


@pytest.fixture
def listener(settings: Any, eager: None) -> Iterator[Listener]:
    settings.WHARF_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WHARF_WEBHOOK_BACKOFF_SECONDS = 0
    with listening() as found:
        yield found
