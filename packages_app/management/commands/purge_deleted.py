"""``manage.py purge_deleted [--dry-run]``: the ``purge_deleted`` task, run by hand, one line per item."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from packages_app import purge
from packages_app.models import deleted_retention_days


class Command(BaseCommand):
    help = "Remove for good the packages and versions deleted more than WHARF_DELETED_RETENTION_DAYS ago."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="list what would be removed and remove nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"restorable for: {deleted_retention_days()} day(s)")
        purge.purge_deleted(dry_run=options["dry_run"], progress=self.stdout.write)
