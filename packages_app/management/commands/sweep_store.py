"""``manage.py sweep_store [--dry-run] [--pages N]``: the ``sweep_orphans`` task by hand, a line per key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from packages_app import sweep


class Command(BaseCommand):
    help = "Delete stored bytes no row points at and no upload owns, paging from where the last sweep stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="list the orphan keys, delete nothing")
        parser.add_argument("--pages", type=int, default=None, help="stop after this many pages")
        parser.add_argument("--page-size", type=int, default=1000)
        parser.add_argument("--keys-per-second", type=float, default=None, help="override the pace (0: no pause)")

    def handle(self, *args: Any, **options: Any) -> None:
        report = sweep.sweep_orphans(
            page_size=options["page_size"],
            max_pages=options["pages"],
            keys_per_second=options["keys_per_second"],
            dry_run=options["dry_run"],
            progress=self.stdout.write,
        )
        where = "to the end" if report.finished else "stopped part-way (the next sweep resumes there)"
        if report.busy:
            where = "another sweep holds the store"
        self.stdout.write(
            f"{report.keys_seen} key(s) in {report.pages} page(s), {len(report.orphan_keys)} orphan(s); {where}"
        )
