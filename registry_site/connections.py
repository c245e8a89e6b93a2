"""Database connections the server closed while they sat idle are dropped before a request uses them.

A PostgreSQL restart, a failover or ``pg_terminate_backend`` ends the server side of every pooled
connection (``CONN_MAX_AGE``), and each gunicorn thread would find out with its next request: a 500.
Django's ``CONN_HEALTH_CHECKS`` would catch that with a ``SELECT 1`` round trip before the first query
of every request, which costs a third of a manifest pull's database time. A server that ends a
connection says so first (an ``ErrorResponse``, then it closes the socket), so an idle connection that
has anything to read is dead: one ``poll()`` with no timeout, no round trip, tells. A dead connection
is closed here, at ``request_started``, before any query runs or any body is read; the request then
opens a fresh one.
"""

from __future__ import annotations

import select
from typing import Any

from django.core.signals import request_started
from django.db import connections


def _has_something_to_read(raw: Any) -> bool:
    """An idle connection (not in a query) with bytes or EOF waiting: the server ended it."""
    try:
        fd = raw.fileno()
    except Exception:  # psycopg raises OperationalError once it knows the connection is closed
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


def close_dead_connections(**kwargs: Any) -> None:
    for connection in connections.all(initialized_only=True):
        raw = connection.connection
        if raw is None or connection.vendor != "postgresql" or connection.in_atomic_block:
            continue
        if _has_something_to_read(raw):
            connection.close()


def install() -> None:
    """Run before every request (after Django's own ``close_old_connections``)."""
    request_started.connect(close_dead_connections, dispatch_uid="wharf-close-dead-connections")
