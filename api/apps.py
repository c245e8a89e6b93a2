from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "REST API"

    def ready(self) -> None:
        from . import schema  # noqa: F401, PLC0415 - at ready(), registers the token security scheme with drf-spectacular
