"""The tags list orders by name in byte order (COLLATE "C", like Go's sort.Strings) on PostgreSQL;
the (package, name) unique index follows the database's collation, so each page sorted all of a
package's tags. This index serves the order and the ``last`` cursor directly (docs/scale.md)."""

from django.db import migrations

_CREATE = 'CREATE INDEX IF NOT EXISTS tag_package_name_bytes ON packages_app_tag (package_id, name COLLATE "C")'
_DROP = "DROP INDEX IF EXISTS tag_package_name_bytes"


def _on_postgres(statement):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("packages_app", "0010_gc_review_queue")]

    operations = [migrations.RunPython(_on_postgres(_CREATE), _on_postgres(_DROP))]
