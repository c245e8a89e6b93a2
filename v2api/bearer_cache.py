"""Registry bearer tokens, verified once and remembered by each process for a short while.

A client (docker, containerd, skopeo) sends the same bearer token on every request of a pull or push.
Verifying it, loading its user and deciding its roles on every request cost three of the five queries
of a private manifest GET. A token's claims do not change during its lifetime, so the ``Actor`` built
from it is kept here, keyed by a hash of the token and the service, together with the role decisions
``packages_app.access`` makes for it (``Actor.decisions``).

What revocation means then (README "Registry tokens and revocation"): an entry lives for at most
``WHARF_REGISTRY_AUTH_CACHE_SECONDS`` (60 s by default; 0 turns the cache off) and never past the
token's own expiry. Revoking a personal access token, removing a member, a grant or a collaborator, or
deactivating a user stops ``/token`` at once and reaches requests that carry an already issued registry
token within that time. What is never remembered: the package and its manifests and blobs (every
request reads them, so a deleted version or package is gone at once), decisions about a name that does
not exist (yet), and Basic credentials (checked on every request).
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from django.conf import settings

from packages_app.access import Actor

MAX_ENTRIES = 10_000  # tokens remembered per process; the oldest is dropped first

_lock = threading.Lock()
_entries: OrderedDict[bytes, tuple[float, Actor]] = OrderedDict()


def actor_for_token(token: str, service: str, resolve: Callable[[], tuple[Actor, int]]) -> Actor:
    """The actor of ``token``, from memory or from ``resolve`` (which verifies the token and returns
    the actor with the token's expiry, epoch seconds, or raises: a refusal is never remembered)."""
    lifetime = float(settings.WHARF_REGISTRY_AUTH_CACHE_SECONDS)
    if lifetime <= 0:
        return resolve()[0]
    key = hashlib.sha256(f"{service}\0{token}".encode()).digest()
    now = time.monotonic()
    with _lock:
        entry = _entries.get(key)
        if entry is not None and entry[0] > now:
            _entries.move_to_end(key)
            return entry[1]
    actor, expires_at = resolve()
    actor = dataclasses.replace(actor, decisions={})
    until = now + min(lifetime, expires_at - time.time())
    with _lock:
        _entries[key] = (until, actor)
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return actor


def clear() -> None:
    """Forget every remembered token (tests)."""
    with _lock:
        _entries.clear()
