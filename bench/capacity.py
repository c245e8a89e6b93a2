"""Row sizes, index sizes and the plans of the hot queries on a generated registry (docs/scale.md).

    createdb wharf_i14cap && DATABASE_URL=postgres://.../wharf_i14cap manage.py migrate
    psql wharf_i14cap -f bench/capacity.sql          # 10^6 manifests, 10^7 tags, 10^6 blobs
    DATABASE_URL=postgres://.../wharf_i14cap python bench/capacity.py > plans.txt

The queries are the ones Wharf's selectors build (the same querysets), run with EXPLAIN (ANALYZE, BUFFERS).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_site.settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.db.models import QuerySet  # noqa: E402

from packages_app import selectors  # noqa: E402
from packages_app.models import Blob, Manifest, Package, Tag  # noqa: E402
from packages_app.reviews import review_due_soon  # noqa: E402

TABLES = [
    "packages_app_package",
    "packages_app_manifest",
    "packages_app_tag",
    "packages_app_blob",
    "packages_app_manifest_blobs",
    "packages_app_packageblob",
    "packages_app_blobreview",
]


def sizes() -> None:
    print("| table | rows | heap bytes/row | indexes bytes/row | total |")
    print("|---|---:|---:|---:|---:|")
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(
                f"SELECT count(*), pg_table_size('{table}'), pg_indexes_size('{table}'), "
                f"pg_total_relation_size('{table}') FROM {table}"
            )
            rows, heap, indexes, total = cursor.fetchone()
            heap_row, index_row = (f"{heap / rows:.0f}", f"{indexes / rows:.0f}") if rows else ("-", "-")
            print(f"| {table} | {rows:,} | {heap_row} | {index_row} | {total / 2**20:,.0f} MiB |")


def plan(title: str, queryset: QuerySet) -> None:  # type: ignore[type-arg]
    sql, params = queryset.query.sql_with_params()
    print(f"\n### {title}\n\n```sql\n{sql % tuple(repr(p) if isinstance(p, str) else p for p in params)}\n```\n")
    print("```\n" + queryset.explain(analyze=True, buffers=True) + "\n```")


def main() -> None:
    sizes()
    package = Package.objects.get(name="org250/app5250")
    manifest = Manifest.objects.filter(package=package).order_by("id")[50]
    referrer = Manifest.objects.filter(package=package).exclude(subject_digest="").order_by("id")[3]
    tag = Tag.objects.filter(package=package).order_by("id")[7]
    blob = Blob.objects.filter(manifests=manifest).first()
    assert blob is not None
    manifest_plans(package, manifest, tag)
    tag_list_plans(package)
    referrer_and_blob_plans(package, referrer, blob)


def manifest_plans(package: Package, manifest: Manifest, tag: Tag) -> None:
    live = {"deleted_at__isnull": True, "package__deleted_at__isnull": True}
    manifests = Manifest.objects.select_related("package").filter(**live)
    plan(
        "Manifest by digest (GET /v2/NAME/manifests/DIGEST)",
        manifests.filter(package__name=package.name, digest=manifest.digest)[:1],
    )
    plan(
        "Manifest by tag (GET /v2/NAME/manifests/TAG)",
        manifests.filter(tags__package__name=package.name, tags__name=tag.name)[:1],
    )


def tag_list_plans(package: Package) -> None:
    tags = Tag.objects.filter(package=package).annotate(sort_name=selectors._ascii_order("name"))
    plan("Tags list, first page (GET /v2/NAME/tags/list?n=100)", tags.order_by("sort_name").values_list("name")[:101])
    last = tags.order_by("sort_name").values_list("name", flat=True)[500]
    plan(
        f"Tags list, a later page (?n=100&last={last})",
        tags.filter(sort_name__gt=last).order_by("sort_name").values_list("name")[:101],
    )


def referrer_and_blob_plans(package: Package, referrer: Manifest, blob: Blob) -> None:
    plan(
        "Referrers (GET /v2/NAME/referrers/DIGEST)",
        Manifest.objects.filter(
            package=package, subject_digest=referrer.subject_digest, deleted_at__isnull=True
        ).order_by("created_at", "id"),
    )
    plan(
        "Blob link (GET/HEAD /v2/NAME/blobs/DIGEST)",
        Blob.objects.annotate(review_due_soon=review_due_soon()).filter(
            digest=blob.digest, packageblob__package__name=package.name, packageblob__package__deleted_at__isnull=True
        )[:1],
    )
    statement(
        "Link renewal on upload or mount",
        "INSERT INTO packages_app_packageblob (package_id, blob_id, created_at) "
        f"VALUES ({package.id}, {blob.id}, now()) "
        "ON CONFLICT (package_id, blob_id) DO UPDATE SET created_at = EXCLUDED.created_at",
    )  # what services.blobs.link_blob's bulk_create(update_conflicts=True) sends


def statement(title: str, sql: str) -> None:
    """The plan of a writing statement, run in a transaction that is rolled back."""
    print(f"\n### {title}\n\n```sql\n{sql}\n```\n")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        print("```\n" + "\n".join(row[0] for row in cursor.fetchall()) + "\n```")
        transaction.set_rollback(True)


if __name__ == "__main__":
    main()
