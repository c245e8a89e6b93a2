from __future__ import annotations

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register this app's Celery tasks in every process (web too): events enqueue them by name;
        # and its readings for the metrics endpoint.
        from . import gauges, tasks  # noqa: F401, PLC0415 - they import models: only at ready()
