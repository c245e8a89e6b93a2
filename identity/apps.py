from __future__ import annotations

from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "identity"
    verbose_name = "Sign-in providers"

    def ready(self) -> None:
        from allauth.account.signals import user_logged_in  # noqa: PLC0415 - models and signals exist only once the app registry is ready

        from .signals import on_social_login  # noqa: PLC0415 - it imports models

        user_logged_in.connect(on_social_login, dispatch_uid="wharf-identity-groups")
