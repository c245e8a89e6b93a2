from __future__ import annotations

from django.apps import AppConfig


class RepositoriesConfig(AppConfig):
    name = "repositories"
    verbose_name = "Source repositories"
    default_auto_field = "django.db.models.BigAutoField"
