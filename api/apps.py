from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The REST API. Its schema machinery (``api.schema``, drf-spectacular's generator) is loaded by
    the first schema request, not here (``api.openapi``)."""

    name = "api"
    verbose_name = "REST API"
