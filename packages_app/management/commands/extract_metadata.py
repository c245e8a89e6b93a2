"""``manage.py extract_metadata [--all]``: the extraction tasks, run by hand, one line per manifest."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from packages_app import metadata
from packages_app.models import Manifest


class Command(BaseCommand):
    help = "Extract labels and platforms of manifests never extracted (--all: every manifest again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="re-extract every manifest")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["all"]:
            done = metadata.metadata_extract_pending(limit=10**9, progress=self.stdout.write)
            self.stdout.write(f"extracted {done} manifest(s)")
            return
        ids = list(Manifest.objects.order_by("id").values_list("id", flat=True))
        for number, manifest_id in enumerate(ids, 1):
            metadata.manifest_extract_metadata(manifest_id=manifest_id)
            self.stdout.write(f"[{number}/{len(ids)}] extracted manifest {manifest_id}")
