"""The registry's hottest statements, written out. Each runs on nearly every request of its kind
(pulls: manifest and blob lookups; pushes: the package id, the upload session, the new blob row), and
building it with the ORM cost more Python time than PostgreSQL spent running it (``bench/README.md``,
"Where a request's time goes"). Everything else goes through the ORM. Plain SQL that SQLite runs too;
identifiers quoted as Django quotes them. The tables' columns are the models' (``models/registry.py``):
a migration that renames one must change these, and the tests of each caller fail until it does.
Their parameters are prepared as the models' fields prepare them (``prepared``)."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Field, Model


def prepared(model: type[Model], field: str, value: Any) -> Any:
    """``value`` as ``model``'s field ``field`` sends it to the database (a UUID as text on SQLite,
    JSON, bytes, an aware datetime), for a statement of this module."""
    return _fields(model)[field].get_db_prep_value(value, connection)


@cache
def _fields(model: type[Model]) -> dict[str, Field[Any, Any]]:
    return {field.name: field for field in model._meta.concrete_fields}


# The live package ``name``'s id and visibility (``LivePackageManager.identify``): the write requests' gate.
LIVE_PACKAGE_KEY = (
    'SELECT "id", "visibility" FROM "packages_app_package" WHERE "name" = %s AND "deleted_at" IS NULL LIMIT 1'
)

# The live package ``name``, every column (``LivePackageManager.named``).
LIVE_PACKAGE = 'SELECT * FROM "packages_app_package" WHERE "name" = %s AND "deleted_at" IS NULL LIMIT 1'

# Which tag rules might apply to a package (``tag_rules.check``): its own and its namespace's, by id.
TAG_RULE_PATTERNS = (
    'SELECT "id", "pattern" FROM "packages_app_tagrule" WHERE "package_id" = %s '
    'OR ("namespace" = %s AND "package_id" IS NULL) ORDER BY "id"'
)

# A manifest by digest or by tag (``selectors.manifest_find``), with its package's id and visibility.
_MANIFEST_COLUMNS = (
    'SELECT "packages_app_manifest"."id", "packages_app_manifest"."digest", "packages_app_manifest"."media_type", '
    '"packages_app_manifest"."size", "packages_app_manifest"."content", "packages_app_package"."id", '
    '"packages_app_package"."visibility" '
)
# Deleted versions and the versions of a deleted package are gone to the registry (REGISTRY.md "Deleting").
MANIFEST_BY_DIGEST = (
    _MANIFEST_COLUMNS + 'FROM "packages_app_manifest" INNER JOIN "packages_app_package" '
    'ON "packages_app_manifest"."package_id" = "packages_app_package"."id" '
    'WHERE "packages_app_package"."name" = %s AND "packages_app_package"."deleted_at" IS NULL '
    'AND "packages_app_manifest"."digest" = %s AND "packages_app_manifest"."deleted_at" IS NULL LIMIT 1'
)
MANIFEST_BY_TAG = (
    _MANIFEST_COLUMNS + 'FROM "packages_app_manifest" INNER JOIN "packages_app_tag" '
    'ON "packages_app_tag"."manifest_id" = "packages_app_manifest"."id" INNER JOIN "packages_app_package" '
    'ON "packages_app_tag"."package_id" = "packages_app_package"."id" '
    'AND "packages_app_manifest"."package_id" = "packages_app_package"."id" '
    'WHERE "packages_app_package"."name" = %s AND "packages_app_package"."deleted_at" IS NULL '
    'AND "packages_app_tag"."name" = %s AND "packages_app_manifest"."deleted_at" IS NULL LIMIT 1'
)

# A blob as the live package ``name`` links it (``selectors.blob_find``), with the package's id and
# visibility and whether its review is due.
BLOB_BY_NAME = (
    'SELECT "packages_app_blob"."id", "packages_app_blob"."size", "packages_app_blob"."storage_key", '
    '"packages_app_package"."id", "packages_app_package"."visibility", EXISTS(SELECT 1 FROM '
    '"packages_app_blobreview" WHERE "packages_app_blobreview"."blob_id" = "packages_app_blob"."id" '
    'AND "packages_app_blobreview"."queued_at" < %s) FROM "packages_app_blob" INNER JOIN "packages_app_packageblob" '
    'ON "packages_app_packageblob"."blob_id" = "packages_app_blob"."id" INNER JOIN "packages_app_package" '
    'ON "packages_app_packageblob"."package_id" = "packages_app_package"."id" '
    'WHERE "packages_app_blob"."digest" = %s AND "packages_app_package"."name" = %s '
    'AND "packages_app_package"."deleted_at" IS NULL LIMIT 1'
)

# An upload session (``selectors.upload_find``, every PATCH and PUT) by id, of the live package ``name``, if
# the session is live (``selectors.live_uploads``: active since the given moment, or leased beyond now),
# and its owner's (one user, or none for anonymous and automation sessions).
_UPLOAD_BY_ID = (
    'SELECT "packages_app_upload"."id", "packages_app_upload"."package_id", "packages_app_upload"."user_id", '
    '"packages_app_upload"."offset", "packages_app_upload"."hash_algorithm", "packages_app_upload"."hash_state", '
    '"packages_app_upload"."storage_state", "packages_app_upload"."lease_token", "packages_app_upload"."lease_until", '
    '"packages_app_upload"."created_at", "packages_app_upload"."updated_at", '
    '"packages_app_package"."visibility" AS "package_visibility" FROM "packages_app_upload" '
    'INNER JOIN "packages_app_package" ON "packages_app_upload"."package_id" = "packages_app_package"."id" '
    'WHERE "packages_app_upload"."id" = %s AND "packages_app_package"."name" = %s '
    'AND "packages_app_package"."deleted_at" IS NULL '
    'AND ("packages_app_upload"."updated_at" >= %s OR "packages_app_upload"."lease_until" > %s)'
)
UPLOAD_OF_USER = _UPLOAD_BY_ID + ' AND "packages_app_upload"."user_id" = %s LIMIT 1'
UPLOAD_WITHOUT_USER = _UPLOAD_BY_ID + ' AND "packages_app_upload"."user_id" IS NULL LIMIT 1'

# A verified upload's blob row (``services.blobs.blob_create_or_lock``): inserted unless the digest has one; then
# nothing comes back and the existing row is locked instead.
BLOB_INSERT = (
    'INSERT INTO "packages_app_blob" ("digest", "size", "storage_key", "created_at") VALUES (%s, %s, %s, %s) '
    'ON CONFLICT ("digest") DO NOTHING RETURNING "id"'
)

# An upload session's lease taken (``upload_leases.take_lease``): only while it is free and the
# session's offset is still the one the request read.
TAKE_LEASE = (
    'UPDATE "packages_app_upload" SET "lease_token" = %s, "lease_until" = %s '
    'WHERE "id" = %s AND "offset" = %s AND ("lease_token" IS NULL OR "lease_until" < %s)'
)

# A chunk recorded (``uploads._commit_chunk``): offset, hash state and store state together, under the
# writer's lease and from the offset it started at; the end of a PATCH also gives the lease up.
_COMMIT_CHUNK = (
    'UPDATE "packages_app_upload" SET "offset" = %s, "hash_state" = %s, "storage_state" = %s, "updated_at" = %s'
)
_UNDER_LEASE = ' WHERE "id" = %s AND "lease_token" = %s AND "offset" = %s'
COMMIT_CHUNK = _COMMIT_CHUNK + _UNDER_LEASE
COMMIT_CHUNK_AND_RELEASE = _COMMIT_CHUNK + ', "lease_token" = NULL, "lease_until" = NULL' + _UNDER_LEASE
