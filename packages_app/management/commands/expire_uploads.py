"""``manage.py expire_uploads``: the ``expire_uploads`` task, run by hand."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from packages_app import uploads


class Command(BaseCommand):
    help = "Remove upload sessions idle longer than the upload timeout, with their partial data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--idle-seconds", type=int, default=None, help="override WHARF_UPLOAD_TIMEOUT")

    def handle(self, *args: Any, **options: Any) -> None:
        removed = uploads.uploads_expire(idle_seconds=options["idle_seconds"])
        self.stdout.write(f"removed {removed} abandoned upload session(s)")
