"""Celery entry points of webhooks: thin, each loads by id and calls one service."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from . import delivery as sending
from . import services
from .models import Delivery


@shared_task
def dispatch_event(event: str, package_id: int, actor: str, data: dict[str, Any]) -> int:
    """Fan one package event (``packages_app.events.emit``) out to the hooks that asked for it."""
    return services.event_dispatch(event=event, package_id=package_id, actor=actor, data=data)


@shared_task(bind=True, max_retries=None)
def deliver(self: Task, delivery_id: int) -> str:  # type: ignore[type-arg]
    """Send one delivery; on failure retry later with backoff (``delivery.backoff_seconds``)."""
    delivery = Delivery.objects.select_related("webhook").filter(id=delivery_id).first()
    if delivery is None or not delivery.webhook.active:
        return "skipped"
    if sending.attempt(delivery):
        raise self.retry(countdown=sending.backoff_seconds(delivery.attempts))
    return str(delivery.status)
