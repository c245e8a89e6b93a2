"""``manage.py expire_uploads [--dry-run]``: the ``expire_uploads`` task, run by hand, one line per item."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from packages_app import upload_expiry


class Command(BaseCommand):
    help = "Remove upload sessions idle longer than the upload timeout, and upload data no session owns."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")
        parser.add_argument("--idle-seconds", type=int, default=None, help="override WHARF_UPLOAD_TIMEOUT")

    def handle(self, *args: Any, **options: Any) -> None:
        upload_expiry.uploads_expire(
            idle_seconds=options["idle_seconds"], dry_run=options["dry_run"], progress=self.stdout.write
        )
