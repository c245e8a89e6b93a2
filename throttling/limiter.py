"""Fixed-window request counters: in Redis (``WHARF_RATE_LIMIT_REDIS_URL``: shared by every process and
node) or in this process (the embedded default, one machine).

``hit(key, limit)`` counts one request for ``key`` in the current window of
``WHARF_RATE_LIMIT_WINDOW_SECONDS`` and returns None while the count is within ``limit``, else the
seconds until the window ends (the ``Retry-After``). Only the start of a request is counted, so a
stream in progress (an upload, a download) is never cut by a limit reached meanwhile.
"""

from __future__ import annotations

import math
import threading
import time
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings


class _Local:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, int], int] = {}
        self.lock = threading.Lock()

    def incr(self, key: str, window: int, now: float) -> int:
        slot = int(now // window)
        with self.lock:
            if len(self.counts) > 100_000:  # drop past windows
                self.counts = {k: v for k, v in self.counts.items() if k[1] == slot}
            count = self.counts.get((key, slot), 0) + 1
            self.counts[(key, slot)] = count
        return count


class _Redis:
    def __init__(self, url: str) -> None:
        self.client: Any = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)

    def incr(self, key: str, window: int, now: float) -> int:
        name = f"wharf:rl:{key}:{int(now // window)}"
        pipe = self.client.pipeline()
        pipe.incr(name)
        pipe.expire(name, window + 1)
        return int(pipe.execute()[0])


@lru_cache(maxsize=1)
def backend() -> _Local | _Redis:
    url = str(settings.WHARF_RATE_LIMIT_REDIS_URL)
    return _Redis(url) if url else _Local()


def hit(key: str, limit: int) -> int | None:
    """Count a request for ``key``; None if allowed, else the seconds to wait. ``limit`` 0: no limit."""
    if limit <= 0:
        return None
    window, now = int(settings.WHARF_RATE_LIMIT_WINDOW_SECONDS), time.time()
    try:
        count = backend().incr(key, window, now)
    except redis.RedisError:  # an unreachable counter store must not take the registry down
        return None
    if count <= limit:
        return None
    return max(1, math.ceil(window - now % window))
