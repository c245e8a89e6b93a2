"""Reads of webhooks: a scope's hooks, one hook for its admin, its recent deliveries."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from packages_app.models import Package

from .models import Delivery, Webhook


def hooks_of(*, namespace: str = "", package: Package | None = None) -> QuerySet[Webhook]:
    if package is not None:
        return Webhook.objects.filter(package=package).order_by("id")
    return Webhook.objects.filter(namespace=namespace, package__isnull=True).order_by("id")


def hook_get(*, hook_id: int, namespace: str = "", package: Package | None = None) -> Webhook:
    """A hook of this scope (a hook of another scope answers as a missing one)."""
    hook = hooks_of(namespace=namespace, package=package).filter(id=hook_id).first()
    if hook is None:
        raise Http404("Not Found")
    return hook


def deliveries_of(*, hook: Webhook, limit: int = 50) -> list[Delivery]:
    return list(hook.deliveries.defer("body").order_by("-created_at", "-id")[:limit])


def delivery_get(*, hook: Webhook, delivery_id: int) -> Delivery:
    delivery = hook.deliveries.filter(id=delivery_id).first()
    if delivery is None:
        raise Http404("Not Found")
    return delivery
