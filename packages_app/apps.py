from __future__ import annotations

from django.apps import AppConfig


class PackagesAppConfig(AppConfig):
    name = "packages_app"
    verbose_name = "Packages"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register this app's Celery tasks in every process (web too): events enqueue them by name;
        # its readings for the metrics endpoint; and the audit log's receiver of accounts' signals.
        from . import audit, gauges, tasks  # noqa: F401, PLC0415 - they import models: only at ready()
