from __future__ import annotations

from django.apps import AppConfig


class ThrottlingConfig(AppConfig):
    name = "throttling"
    verbose_name = "Rate limits"
