"""Writes of webhooks: create, change, delete, ping and redeliver (admins of the namespace or package),
and the fan-out of one package event to the hooks that asked for it.

Deliveries are rows first (the log), then a Celery task (``webhooks.tasks.deliver``) after commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q

from accounts.roles import namespace_role
from errors import InvalidInput, PermissionRefused
from packages_app import events
from packages_app.access import package_role
from packages_app.models import Manifest, Package, Role

from . import payloads
from .models import Delivery, Webhook
from .transport import TargetRefused, resolve

DELIVER_TASK = "webhooks.tasks.deliver"


def _require_admin(user: User | None, *, namespace: str = "", package: Package | None = None) -> None:
    if user is None:
        raise PermissionRefused("Sign in to manage webhooks.")
    role = package_role(user, package) if package is not None else namespace_role(user, namespace)
    if role != Role.ADMIN:
        raise PermissionRefused("Only admins can manage webhooks.")


def _clean_events(chosen: Iterable[str]) -> list[str]:
    picked = list(dict.fromkeys(chosen))
    unknown = [e for e in picked if e not in events.EVENTS]
    if unknown:
        raise InvalidInput(f"Unknown event: {', '.join(unknown)}.", code="events")
    if not picked:
        raise InvalidInput("Choose at least one event.", code="events")
    return picked


def _clean_url(url: str) -> str:
    url = url.strip()
    if len(url) > 2000:
        raise InvalidInput("The URL is too long.", code="url")
    try:
        resolve(url)
    except TargetRefused as exc:
        raise InvalidInput(str(exc), code="url") from None
    return url


def webhook_create(
    *,
    user: User | None,
    url: str,
    events_: Iterable[str],
    secret: str = "",
    namespace: str = "",
    package: Package | None = None,
    active: bool = True,
) -> Webhook:
    """A hook of ``namespace`` (every package in it) or of ``package``; a ping is sent at once."""
    _require_admin(user, namespace=namespace, package=package)
    hook = Webhook(
        namespace="" if package is not None else namespace,
        package=package,
        url=_clean_url(url),
        secret=secret[:255],
        events=_clean_events(events_),
        active=active,
        created_by=user,
    )
    with transaction.atomic():
        hook.save()
        webhook_ping(webhook=hook, user=user)
    return hook


def _require_hook_admin(webhook: Webhook, user: User | None) -> None:
    _require_admin(user, namespace=webhook.namespace, package=webhook.package)


def webhook_update(
    *,
    webhook: Webhook,
    user: User | None,
    url: str | None = None,
    events_: Iterable[str] | None = None,
    secret: str | None = None,
    active: bool | None = None,
) -> Webhook:
    """Change what is given; an empty ``secret`` string removes the secret, None keeps it."""
    _require_hook_admin(webhook, user)
    if url is not None:
        webhook.url = _clean_url(url)
    if events_ is not None:
        webhook.events = _clean_events(events_)
    if secret is not None:
        webhook.secret = secret[:255]
    if active is not None:
        webhook.active = active
    webhook.save()
    return webhook


def webhook_delete(*, webhook: Webhook, user: User | None) -> None:
    _require_hook_admin(webhook, user)
    webhook.delete()


def _queue(delivery: Delivery) -> Delivery:
    events.enqueue(DELIVER_TASK, delivery.id)
    return delivery


def webhook_ping(*, webhook: Webhook, user: User | None) -> Delivery:
    """A ``ping`` delivery: sent on creation and on request, whatever events the hook chose."""
    _require_hook_admin(webhook, user)
    body = payloads.encode(payloads.ping(webhook))
    return _queue(Delivery.objects.create(webhook=webhook, event="ping", body=body))


def delivery_redeliver(*, delivery: Delivery, user: User | None) -> Delivery:
    """Send a logged delivery's body again, as a new delivery of its own."""
    _require_hook_admin(delivery.webhook, user)
    again = Delivery.objects.create(
        webhook=delivery.webhook, event=delivery.event, body=bytes(delivery.body), redelivery_of=delivery
    )
    return _queue(again)


def _superseded(data: dict[str, Any]) -> bool:
    """An untagged image announced late: no event if it became a platform of an index, got a tag, or
    was deleted meanwhile (then that push's own event tells the story)."""
    manifest = Manifest.objects.filter(id=int(data.get("version_id") or 0)).first()
    if manifest is None or manifest.deleted_at is not None:
        return True
    return manifest.parents.exists() or manifest.tags.exists()


def _hooks_for(event: str, package: Package) -> list[Webhook]:
    hooks = Webhook.objects.filter(active=True).filter(Q(package=package) | Q(namespace=package.namespace))
    return [h for h in hooks.order_by("id") if event in h.events]


def event_dispatch(*, event: str, package_id: int, actor: str, data: dict[str, Any]) -> int:
    """Log one delivery per hook that asked for ``event`` and queue them. Returns how many."""
    package = Package.all_objects.filter(id=package_id).first()
    if package is None or (data.get("untagged") and _superseded(data)):
        return 0
    hooks = _hooks_for(event, package)
    if not hooks:
        return 0
    body = payloads.encode(payloads.package_event(event, package, actor, data))
    with transaction.atomic():
        for hook in hooks:
            _queue(Delivery.objects.create(webhook=hook, event=event, body=body))
    return len(hooks)
