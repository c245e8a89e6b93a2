"""A webhook (a namespace's or a package's) and the log of its deliveries.

A namespace hook (``namespace`` set: an organization or a user) hears about every package of that
namespace; a package hook (``package`` set) about that package only. Exactly one of the two is set.
The secret signs each body (``X-Wharf-Signature-256``), so it is kept as given: a hash could not sign.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from packages_app.models import namespace_xor_package


class Webhook(models.Model):
    namespace = models.CharField(max_length=255, blank=True, default="", db_index=True)
    package = models.ForeignKey(
        "packages_app.Package", null=True, blank=True, on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.URLField(max_length=2000)
    secret = models.CharField(max_length=255, blank=True, default="")
    events = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=namespace_xor_package(),
                name="webhook_namespace_xor_package",
            )
        ]

    def __str__(self) -> str:
        return f"webhook {self.pk} → {self.url}"


class Delivery(models.Model):
    """One event sent (or to be sent) to one hook; a redelivery is a new row with the same body."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    guid = models.UUIDField(default=uuid.uuid4, editable=False, db_index=True)
    event = models.CharField(max_length=64)
    body = models.BinaryField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_ms = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True, default="")
    error = models.CharField(max_length=500, blank=True, default="")
    redelivery_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook_id} ({self.status})"
