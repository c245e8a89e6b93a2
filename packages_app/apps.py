from __future__ import annotations

from django.apps import AppConfig

from registry_site import connections


class PackagesAppConfig(AppConfig):
    name = "packages_app"
    verbose_name = "Packages"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register this app's Celery tasks in every process (web too): events enqueue them by name.
        from . import tasks  # noqa: F401

        connections.install()
