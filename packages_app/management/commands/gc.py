"""``manage.py gc [--dry-run]``: the ``collect_garbage`` task, run by hand, one line per item."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from packages_app import gc, reviews


class Command(BaseCommand):
    help = "Remove manifests retention rules delete, unreferenced blobs older than the grace period, and orphan bytes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="list what would go and the bytes it would free")
        parser.add_argument(
            "--grace-seconds",
            type=int,
            default=None,
            help="override WHARF_GC_GRACE_SECONDS (never below WHARF_UPLOAD_TIMEOUT)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        requested, grace = options["grace_seconds"], reviews.gc_grace_seconds(options["grace_seconds"])
        floor = (
            " (raised to the upload timeout, WHARF_UPLOAD_TIMEOUT)"
            if requested is not None and grace > requested
            else ""
        )
        self.stdout.write(f"grace period: {grace}s{floor}")
        gc.garbage_collect(dry_run=options["dry_run"], grace_seconds=grace, progress=self.stdout.write)
