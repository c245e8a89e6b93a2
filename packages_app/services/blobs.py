"""Blobs in a repository: linking an uploaded or mounted blob, unlinking one (blob DELETE), linking a
restored version's blobs again. Upload sessions are ``packages_app.uploads``."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from .. import quotas
from .. import sql as statements
from ..exceptions import BlobUnknown, Unsupported
from ..models import Blob, Manifest, Package, PackageBlob
from ..names import parse_digest
from ..selectors import package_get
from .packages import package_for_write


def link_blob(package_id: int, blob: Blob) -> None:
    """Link ``blob`` into the package ``package_id``; a link that exists is renewed, so the garbage collector's grace
    period counts from the latest upload or mount (REGISTRY.md "Background work"). One statement
    (INSERT … ON CONFLICT DO UPDATE), so two pushes linking the same blob at once cannot collide."""
    PackageBlob.objects.bulk_create(
        [PackageBlob(package_id=package_id, blob=blob, created_at=timezone.now())],
        update_conflicts=True,
        unique_fields=["package", "blob"],
        update_fields=["created_at"],
    )


def blob_create_or_lock(digest: str, size: int, key: str) -> tuple[Blob, bool]:
    """The row of ``digest`` and whether it is new: a new one for an upload's verified bytes at ``key``
    (one INSERT … ON CONFLICT DO NOTHING, which waits for a concurrent insert or delete of that digest to
    end), or the existing one, locked (NO KEY UPDATE) so that a garbage collection cannot delete it
    before the caller's transaction links it. Call inside that transaction."""
    while True:
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(statements.BLOB_INSERT, [digest, size, key, statements.prepared(Blob, "created_at", now)])
            row = cursor.fetchone()
        if row is not None:
            return Blob.from_db(connection.alias, _BLOB_FIELDS, [row[0], digest, size, key, now]), True
        existing = Blob.objects.select_for_update(no_key=True).filter(digest=digest).first()
        if existing is not None:
            return existing, False
        # Gone between the two statements (a garbage collection deleted it): insert it again.


_BLOB_FIELDS = ["id", "digest", "size", "storage_key", "created_at"]


def blob_mount(
    *, name: str, digest: str, source: str, user: User | None = None, repository_id: int | None = None
) -> Blob | None:
    """Link a blob the caller can read in ``source`` into ``name`` (spec "Mounting a blob").
    ``repository_id``: an automation token's (``package_for_write``).

    Returns None when there is nothing to mount; the caller then opens an ordinary session.
    """
    package = package_for_write(name=name, user=user, repository_id=repository_id)
    with transaction.atomic():  # the lock makes a concurrent garbage collection finish (or not start) first
        mountable = Blob.objects.select_for_update(no_key=True, of=("self",))
        blob = mountable.filter(
            digest=digest, packageblob__package__name=source, packageblob__package__deleted_at__isnull=True
        ).first()
        if blob is None:
            return None
        quotas.check_mount(package, blob)
        link_blob(package.id, blob)
    return blob


def blob_unlink(*, name: str, digest: str) -> None:
    """DELETE a blob from a repository (distribution-spec "Deleting Blobs"): it stops being readable
    there at once. Refused while a live manifest of the repository uses it; a deleted (restorable)
    version does not hold it: ``version_restore`` links the blobs of what it brings back again. The
    bytes stay while any manifest, deleted ones included, refers to them (``gc.blob_candidates``)."""
    package = package_get(name=name)
    parse_digest(digest)
    link = PackageBlob.objects.filter(package=package, blob__digest=digest).first()
    if link is None:
        raise BlobUnknown(detail={"digest": digest})
    user = Manifest.objects.filter(package=package, blobs=link.blob, deleted_at__isnull=True).first()
    if user is not None:
        raise Unsupported(f"blob is used by manifest {user.digest}; delete the manifest first")
    link.delete()


def _relink_blobs(package: Package, manifest_ids: list[int]) -> None:
    """Link the blobs of restored manifests to their package again (a blob DELETE after the version
    was deleted unlinked them; their bytes were kept because the deleted manifests still refer to them)."""
    blob_ids = set(
        Manifest.blobs.through.objects.filter(manifest_id__in=manifest_ids).values_list("blob_id", flat=True)
    )
    linked = set(PackageBlob.objects.filter(package=package, blob_id__in=blob_ids).values_list("blob_id", flat=True))
    PackageBlob.objects.bulk_create(
        [PackageBlob(package=package, blob_id=b) for b in sorted(blob_ids - linked)], ignore_conflicts=True
    )
