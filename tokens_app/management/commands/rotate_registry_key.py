"""``manage.py rotate_registry_key``: a new key signs registry bearer tokens from now on; the retired
ones keep verifying the tokens they signed until those expire (``tokens_app.registry_tokens``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tokens_app import registry_tokens


class Command(BaseCommand):
    help = "Start signing registry bearer tokens with a new ES256 key; drop keys whose tokens have all expired."

    def handle(self, *args: Any, **options: Any) -> None:
        key = registry_tokens.rotate()
        kept = [row.kid for row in registry_tokens.usable_keys() if row.id != key.id]
        self.stdout.write(f"signing with {key.kid}; still verifying: {', '.join(kept) or 'nothing else'}")
