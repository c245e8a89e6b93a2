"""Storage quotas of users and organizations (issue 12, point 6; README "Storage quotas").

A namespace's **usage** is the size of the distinct blobs (image configs and layers, artifacts' blobs)
its live packages hold: those a live version of one of its packages references, and those uploaded or
mounted into one of its packages that no version there references yet (a push whose manifest is still
to come; garbage collection takes them after its grace period). A blob shared by several versions or
packages of the owner counts once. Deleted versions and deleted packages do not count (their bytes are
kept while they can be restored, but they no longer take up the owner's quota); restoring one is not
refused by the quota. Manifests' own bytes are not counted: they live in the database, at most
``WHARF_MAX_MANIFEST_SIZE`` each, and are not blob storage.

The **limit** is ``WHARF_QUOTA_DEFAULT_BYTES`` unless a site admin set one for the namespace
(``StorageQuota``; 0 there: no limit); 0 means no limit.

Checks run before bytes are stored wherever the size is known: a blob upload's chunk with its length
(POST with the whole body, PATCH and PUT with Content-Length), a mount, a manifest (the blobs it
references that are new to the owner, e.g. those of a deleted version pushed again). A chunked upload
without a length is checked when it is closed (PUT), before its bytes become a blob; a refused commit
discards the session's bytes. Usage is one aggregate query over the owner's own rows (indexed by
namespace, package and blob: never a scan of the registry's blobs), run only when a limit applies.
Concurrent pushes into one namespace are not serialized: each checks on its own, so together they may
overshoot the limit by what they push at that moment (no lock is held across an upload).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection

from accounts import selectors as account_selectors
from accounts.models import Organization

from .exceptions import Denied, NameUnknown, QuotaExceeded
from .manifests import ParsedManifest
from .models import Blob, Manifest, Package, PackageBlob, StorageQuota, Upload


@dataclass(frozen=True)
class Usage:
    """A namespace's storage: bytes used, its limit (0: none) and where the limit comes from."""

    namespace: str
    used_bytes: int
    limit_bytes: int
    source: str  # "namespace" (a site admin's StorageQuota) or "default" (WHARF_QUOTA_DEFAULT_BYTES)

    @property
    def limited(self) -> bool:
        return self.limit_bytes > 0

    @property
    def available_bytes(self) -> int | None:
        return max(0, self.limit_bytes - self.used_bytes) if self.limited else None

    @property
    def low_bytes(self) -> int:  # where a meter turns to "getting full" (80 %) and "almost full" (95 %)
        return self.limit_bytes * 8 // 10

    @property
    def high_bytes(self) -> int:
        return self.limit_bytes * 95 // 100

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.used_bytes / self.limit_bytes)) if self.limited else 0


def human_bytes(size: int) -> str:
    """``1.0 GiB``, ``512 B``: binary units, one decimal."""
    value, unit = float(size), "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            break
        value /= 1024
    return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"


# --- the limit ------------------------------------------------------------------------------------


def _default() -> int:
    return max(0, int(settings.WHARF_QUOTA_DEFAULT_BYTES))


def limit_of(namespace: str) -> tuple[int, str]:
    """The namespace's limit in bytes (0: none) and its source."""
    row = StorageQuota.objects.filter(namespace=namespace).values_list("limit_bytes", flat=True).first()
    return (_default(), "default") if row is None else (int(row), "namespace")


def _package_limit_row(package_id: int) -> tuple[str, int]:
    """The namespace of a package and its limit, in one query (a check's only one when no limit applies)."""
    sql = (
        f"SELECT p.namespace, q.limit_bytes FROM {Package._meta.db_table} p "  # noqa: S608 - table names from the models; values are parameters
        f"LEFT JOIN {StorageQuota._meta.db_table} q ON q.namespace = p.namespace WHERE p.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [package_id])
        row = cursor.fetchone()
    if row is None:  # the package went meanwhile: nothing to hold against a limit
        return "", 0
    return str(row[0]), _default() if row[1] is None else int(row[1])


# --- usage ----------------------------------------------------------------------------------------

_REFS = Blob.manifests.through._meta.db_table  # manifest -> blob references (config, layers)
_MANIFEST = Manifest._meta.db_table
_PACKAGE = Package._meta.db_table
_LINK = PackageBlob._meta.db_table
_BLOB = Blob._meta.db_table

# The blobs a namespace's usage counts: linked to one of its live packages and referenced by none of
# its versions (live or deleted: an upload awaiting its manifest), or referenced by a live version of
# a live package. SQLite cannot parenthesize compound selects: left to right, this is
# (links EXCEPT all references) UNION live references, as intended.
_COUNTED = f"""
    SELECT l.blob_id FROM {_LINK} l JOIN {_PACKAGE} p ON p.id = l.package_id
     WHERE p.namespace = %s AND p.deleted_at IS NULL
    EXCEPT
    SELECT r.blob_id FROM {_REFS} r JOIN {_MANIFEST} m ON m.id = r.manifest_id JOIN {_PACKAGE} p ON p.id = m.package_id
     WHERE p.namespace = %s AND p.deleted_at IS NULL
    UNION
    SELECT r.blob_id FROM {_REFS} r JOIN {_MANIFEST} m ON m.id = r.manifest_id JOIN {_PACKAGE} p ON p.id = m.package_id
     WHERE p.namespace = %s AND p.deleted_at IS NULL AND m.deleted_at IS NULL
"""  # noqa: S608 - table names from the models; values are parameters


@dataclass(frozen=True)
class _Measured:
    used: int  # bytes the namespace holds now
    new: int  # bytes of the ``wanted`` blobs that exist but it does not hold yet
    held: frozenset[str]  # the ``wanted`` digests it holds already


def _measure(namespace: str, wanted: Sequence[str] = ()) -> _Measured:
    """Usage of ``namespace`` and what ``wanted`` (digests) would add to it, in one query."""
    digests = list(dict.fromkeys(wanted)) or [""]
    marks = ", ".join(["%s"] * len(digests))
    sql = f"""
        WITH counted (blob_id) AS ({_COUNTED})
        SELECT 'used', NULL, COALESCE(SUM(b.size), 0) FROM {_BLOB} b JOIN counted c ON c.blob_id = b.id
        UNION ALL
        SELECT 'held', b.digest, b.size FROM {_BLOB} b JOIN counted c ON c.blob_id = b.id WHERE b.digest IN ({marks})
        UNION ALL
        SELECT 'new', b.digest, b.size FROM {_BLOB} b
         WHERE b.digest IN ({marks}) AND b.id NOT IN (SELECT blob_id FROM counted)
    """  # noqa: S608 - table names from the models; values are parameters and placeholders
    with connection.cursor() as cursor:
        cursor.execute(sql, [namespace] * 3 + digests + digests)
        rows = cursor.fetchall()
    used = sum(int(size) for kind, _, size in rows if kind == "used")
    new = sum(int(size) for kind, _, size in rows if kind == "new")
    return _Measured(used=used, new=new, held=frozenset(str(d) for kind, d, _ in rows if kind == "held"))


def usage_of(namespace: str) -> Usage:
    """What the settings pages and the REST API show."""
    limit, source = limit_of(namespace)
    return Usage(namespace=namespace, used_bytes=_measure(namespace).used, limit_bytes=limit, source=source)


def _readable_by(namespace: str, user: User) -> bool:
    """A namespace's usage is the person's own, their organization's (members), or any for site staff."""
    if user.is_staff or user.get_username() == namespace:
        return True
    organization = Organization.objects.filter(name=namespace).first()
    return organization is not None and account_selectors.is_member(organization=organization, user=user)


def usage_for(*, namespace: str, user: User) -> Usage:
    """The usage ``user`` may read; anyone else gets what a missing owner gets (``NameUnknown``)."""
    if not _readable_by(namespace, user):
        raise NameUnknown(detail={"name": namespace})
    return usage_of(namespace)


def require_quota_admin(*, namespace: str, user: User) -> None:
    """Only site staff change a limit; others who may read the usage are refused (``Denied``), anyone
    else gets what a missing owner gets."""
    if not _readable_by(namespace, user):
        raise NameUnknown(detail={"name": namespace})
    if not user.is_staff:
        raise Denied("Only the site's administrators can change storage quotas.")


def quota_set(*, namespace: str, limit_bytes: int | None) -> Usage:
    """A site admin sets (``None``: removes, back to the default) a namespace's limit."""
    if limit_bytes is None:
        StorageQuota.objects.filter(namespace=namespace).delete()
    else:
        StorageQuota.objects.update_or_create(namespace=namespace, defaults={"limit_bytes": max(0, limit_bytes)})
    return usage_of(namespace)


# --- the checks (one call each from uploads and services) -------------------------------------------


def _refuse(namespace: str, limit: int, used: int, adding: int) -> QuotaExceeded:
    return QuotaExceeded(
        f"storage quota of {namespace} exceeded: {human_bytes(used)} used of {human_bytes(limit)}, "
        f"this push needs {human_bytes(adding)} more",
        detail={"namespace": namespace, "used_bytes": used, "limit_bytes": limit, "requested_bytes": adding},
    )


def _admit(namespace: str, limit: int, wanted: Sequence[str], adding: int | None) -> None:
    """Refuse unless ``namespace`` may take ``adding`` more bytes (None: the sizes of the ``wanted`` blobs
    it does not hold yet); a blob it already holds adds nothing."""
    if limit <= 0:
        return
    measured = _measure(namespace, wanted)
    if adding is None:
        adding = measured.new
    elif wanted and set(wanted) <= measured.held:
        adding = 0
    if adding > 0 and measured.used + adding > limit:
        raise _refuse(namespace, limit, measured.used, adding)


def check_upload(upload: Upload, *, length: int | None, digest: str | None = None) -> None:
    """Before a chunk of ``length`` bytes (None: unknown, nothing checked) is written to ``upload``:
    the session's bytes so far plus this chunk, unless ``digest`` (a PUT's, a POST's) names a blob the
    owner already holds. ``length`` 0 at a PUT checks the finished session itself."""
    if length is None:
        return
    namespace, limit = _package_limit_row(upload.package_id)
    _admit(namespace, limit, [digest] if digest else [], upload.offset + length)


def check_mount(package: Package, blob: Blob) -> None:
    """A blob mounted into ``package`` from another repository counts like one uploaded there."""
    namespace, limit = _package_limit_row(package.id)
    _admit(namespace, limit, [blob.digest], None)


def check_manifest(package: Package, parsed: ParsedManifest) -> None:
    """A manifest may reference blobs its owner does not hold (those of a deleted version, or linked
    only to it): their sizes count."""
    namespace, limit = _package_limit_row(package.id)
    _admit(namespace, limit, parsed.required_blobs(), None)
