from __future__ import annotations

from django.apps import AppConfig

from . import connections


class RegistrySiteConfig(AppConfig):
    """The project itself as an app: what every process installs before serving, whatever it serves."""

    name = "registry_site"
    verbose_name = "Wharf"

    def ready(self) -> None:
        connections.install()
