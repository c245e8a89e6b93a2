from __future__ import annotations

from django.apps import AppConfig


class V2ApiConfig(AppConfig):
    name = "v2api"
    verbose_name = "Registry API (/v2/)"
