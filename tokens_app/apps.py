from __future__ import annotations

from django.apps import AppConfig


class TokensAppConfig(AppConfig):
    name = "tokens_app"
    verbose_name = "Tokens"
    default_auto_field = "django.db.models.BigAutoField"
