"""``manage.py check_storage [--verify]``: is the database consistent with the blob store?"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from packages_app.storage_check import storage_check


class Command(BaseCommand):
    help = "Report stored blobs without rows, rows without stored blobs and (--verify) digests that do not verify."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--verify", action="store_true", help="re-hash every blob (reads all stored bytes)")

    def handle(self, *args: Any, **options: Any) -> None:
        report = storage_check(verify=options["verify"], progress=self.stdout.write)
        summary = (
            f"{len(report.orphan_keys)} blob(s) without rows, {len(report.missing)} row(s) without blobs, "
            f"{len(report.corrupt)} digest(s) that do not verify, "
            f"{len(report.leaked_uploads)} upload area(s) without a session"
        )
        if not report.consistent:
            raise CommandError(summary)
        self.stdout.write(f"consistent: {summary}")
