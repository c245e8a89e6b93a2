from __future__ import annotations

from django.apps import AppConfig


class PackagesAppConfig(AppConfig):
    name = "packages_app"
    verbose_name = "Packages"
    default_auto_field = "django.db.models.BigAutoField"
