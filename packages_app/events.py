"""What happened to packages, announced after the transaction that did it commits.

Services call ``emit`` inside their transaction; nothing leaves the process until the commit, so a
rolled-back push announces nothing. Consumers hang off here by task name, never by import, so the
domain does not import its consumers (the services → tasks → metadata cycle this replaces):

* ``enqueue(task_name, *args)``: a Celery task by name after commit (metadata extraction, refresh);
* ``emit(event, ...)``: a package event (``EVENTS``), handed to the webhook dispatcher
  (``webhooks.tasks.dispatch_event``). The audit log line is written by the service itself, in the
  same transaction, so the log and the change commit together.

A broker that is down must not fail a push already committed: enqueueing is ``robust`` (logged,
not raised); the beat schedule catches up on metadata, and a lost webhook event is logged.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction

from .manifests import ParsedManifest
from .models import Manifest, Package

log = logging.getLogger(__name__)

PUBLISHED = "package.published"
TAG_UPDATED = "package.tag_updated"
PACKAGE_DELETED = "package.deleted"
VERSION_DELETED = "version.deleted"
PACKAGE_RESTORED = "package.restored"
VERSION_RESTORED = "version.restored"
VISIBILITY_CHANGED = "package.visibility_changed"
EVENTS = (
    PUBLISHED,
    TAG_UPDATED,
    PACKAGE_DELETED,
    VERSION_DELETED,
    PACKAGE_RESTORED,
    VERSION_RESTORED,
    VISIBILITY_CHANGED,
)
DISPATCH_TASK = "webhooks.tasks.dispatch_event"


def _send(task_name: str, args: tuple[Any, ...], countdown: float | None) -> None:
    """Look the task up by name in the app's registry (so eager mode in tests still applies)."""
    try:
        task = current_app.tasks[task_name]
        task.delay(*args) if countdown is None else task.apply_async(args=args, countdown=countdown)
    except Exception:  # the push committed; a lost task must not turn it into an error
        log.exception("could not enqueue %s%r", task_name, args)


def enqueue(task_name: str, *args: Any, countdown: float | None = None) -> None:
    """Run the Celery task ``task_name`` with ``args`` once the current transaction commits."""
    transaction.on_commit(lambda: _send(task_name, args, countdown))


def emit(
    event: str,
    *,
    package: Package,
    actor: str,
    data: dict[str, Any] | None = None,
    countdown: float | None = None,
) -> None:
    """Announce ``event`` about ``package`` after commit. ``data`` describes the version and tags; it
    is taken now, so later changes do not alter what is announced. ``countdown`` delays the dispatch
    (an untagged image that may turn out to be a platform of an index pushed right after it)."""
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")
    enqueue(DISPATCH_TASK, event, package.id, actor, data or {}, countdown=countdown)


def _platforms(parsed: ParsedManifest) -> list[dict[str, str]]:
    """The platforms an index names (os, architecture, variant) with each platform image's digest."""
    keys = ("os", "architecture", "variant")
    return [
        {"digest": d.digest, **{k: str(d.platform[k]) for k in keys if d.platform.get(k)}}
        for d in parsed.manifests
        if d.platform
    ]


def version_data(manifest: Manifest, tags: list[str], parsed: ParsedManifest | None = None) -> dict[str, Any]:
    """What an event says about a version."""
    platforms = _platforms(parsed) if parsed is not None else list(manifest.platforms or [])
    return {
        "version_id": manifest.id,
        "digest": manifest.digest,
        "media_type": manifest.media_type,
        "tags": tags,
        "platforms": platforms,
    }


def pushed(
    *, manifest: Manifest, parsed: ParsedManifest, created: bool, moved: dict[str, str | None], actor: str
) -> None:
    """The event of one manifest PUT. A new version with tags is published now; a new untagged one is
    announced after ``WHARF_WEBHOOK_UNTAGGED_DELAY_SECONDS`` unless an index took it as a platform
    meanwhile (a multi-platform push: its index's event names it); an existing version that got tags
    is a tag update. A referrer (signature, SBOM) is not a version of its own: no event."""
    if parsed.subject is not None:
        return
    # A new version's tags are exactly those this push pointed at it (a deleted version lost its tags).
    data = version_data(manifest, sorted(moved) if created else list(moved), parsed)
    if created and data["tags"]:
        emit(PUBLISHED, package=manifest.package, actor=actor, data=data)
    elif created:
        delay = float(settings.WHARF_WEBHOOK_UNTAGGED_DELAY_SECONDS)
        emit(PUBLISHED, package=manifest.package, actor=actor, data=data | {"untagged": True}, countdown=delay)
    elif moved:
        emit(TAG_UPDATED, package=manifest.package, actor=actor, data=data | {"previous": moved})
