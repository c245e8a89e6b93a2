"""The registry's data: blobs (content-addressed), packages, their grants, manifests, tags, pull
counts and upload sessions.

A blob's bytes live in the blob store (``packages_app.storage``); a row in ``Blob`` is what makes them
visible, and it is written only after the digest was verified. Manifests are small (at most 4 MiB) and
are kept in the database byte for byte, as pushed.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections, models
from django.utils import timezone

from accounts.roles import Role

from .. import sql


def deleted_retention_days() -> int:
    """How long a deleted package or version can be restored (``WHARF_DELETED_RETENTION_DAYS``)."""
    return int(settings.WHARF_DELETED_RETENTION_DAYS)


def deleted_cutoff(now: datetime | None = None) -> datetime:
    """Deleted at or before this moment: no longer restorable, and removed for good by ``gc.purge_deleted``."""
    return (now or timezone.now()) - timedelta(days=deleted_retention_days())


class Visibility(models.TextChoices):
    PRIVATE = "private", "Private"
    INTERNAL = "internal", "Internal"
    PUBLIC = "public", "Public"


class Blob(models.Model):
    """Content stored once for the whole registry, addressed by digest."""

    digest = models.CharField(max_length=200, unique=True)
    size = models.BigIntegerField()
    storage_key = models.CharField(max_length=300, db_index=True)  # garbage collection, the orphan sweep
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.digest


class LivePackageManager(models.Manager["Package"]):
    """``Package.objects``: packages that are not deleted. A deleted package is invisible everywhere
    (pages, registry, API) except to restore it (REGISTRY.md "Deleting"): use ``Package.all_objects``."""

    def get_queryset(self) -> models.QuerySet[Package]:
        return super().get_queryset().filter(deleted_at__isnull=True)

    def identify(self, name: str) -> tuple[int, str] | None:
        """The id and visibility of the live package ``name``, in one statement written out: every write
        request asks it (``access``, ``upload_start``), and building it with the ORM cost more than
        running it."""
        with connections[self.db].cursor() as cursor:
            cursor.execute(sql.LIVE_PACKAGE_KEY, [name])
            row = cursor.fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def id_of(self, name: str) -> int | None:
        """``identify``'s id."""
        found = self.identify(name)
        return None if found is None else found[0]

    def named(self, name: str) -> Package | None:
        """The live package ``name``, in one statement written out (every manifest PUT reads it)."""
        return next(iter(self.raw(sql.LIVE_PACKAGE, [name])), None)


class Package(models.Model):
    """A repository ``OWNER/NAME`` (NAME may hold more ``/`` segments). Created by the first push.

    A deleted package keeps its rows for ``WHARF_DELETED_RETENTION_DAYS`` (``deleted_at``), so it can be
    restored; meanwhile its name may be taken by a new package (only live packages have unique names).
    """

    name = models.CharField(max_length=255, db_index=True)
    namespace = models.CharField(max_length=255, db_index=True)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Shown on the package page; extracted from the newest tagged version's labels or annotations
    # (org.opencontainers.image.description / .licenses / .source) by tasks.extract_metadata.
    description = models.CharField(max_length=512, blank=True, default="")
    licenses = models.CharField(max_length=256, blank=True, default="")
    source_url = models.CharField(max_length=2048, blank=True, default="")
    # A longer README in markdown, set by the package's admins (settings page, REST API); rendered by
    # packages_app.readme, sanitized. The description label above stays plain text.
    readme = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    blobs = models.ManyToManyField(Blob, through="PackageBlob", related_name="packages")
    # The source repository this package is linked to (source label, settings, or an automation
    # token's push) and whether it takes that repository's access instead of its own access list.
    repository = models.ForeignKey(
        "repositories.SourceRepository", null=True, blank=True, on_delete=models.SET_NULL, related_name="packages"
    )
    inherit_access = models.BooleanField(default=True)
    # Soft delete (REGISTRY.md "Deleting"): set when the whole package is deleted. Garbage collection
    # keeps everything of a package until ``deleted_cutoff()`` passes its deletion; then
    # ``gc.purge_deleted`` removes its rows for good.
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = LivePackageManager()
    # Django's default manager is the first one declared: live packages; every row is second on purpose.
    all_objects = models.Manager()  # noqa: DJ012

    class Meta:
        base_manager_name = "all_objects"
        constraints = [
            models.UniqueConstraint(
                fields=["name"], condition=models.Q(deleted_at__isnull=True), name="package_unique_live_name"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def path(self) -> str:
        """The name below the owner: ``tools/builder`` for ``acme/tools/builder``."""
        return self.name.split("/", 1)[-1]


class PackagePermission(models.Model):
    """A role on one package, granted to a user or to a team (exactly one of the two)."""

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="permissions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.CASCADE)
    role = models.IntegerField(choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, team__isnull=True)
                | models.Q(user__isnull=True, team__isnull=False),
                name="permission_user_xor_team",
            ),
            models.UniqueConstraint(fields=["package", "user"], name="permission_unique_user"),
            models.UniqueConstraint(fields=["package", "team"], name="permission_unique_team"),
        ]

    def __str__(self) -> str:  # ids only: no query to print a row
        holder = f"user {self.user_id}" if self.user_id is not None else f"team {self.team_id}"
        return f"{Role(self.role).label} on package {self.package_id} for {holder}"


class PackageBlob(models.Model):
    """A blob is readable through a repository once it was uploaded or mounted there."""

    package = models.ForeignKey(Package, on_delete=models.CASCADE)
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT)
    # Renewed by every upload or mount of the blob into the package: garbage collection's grace
    # period counts from the latest one.
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["package", "blob"], name="package_blob_unique")]

    def __str__(self) -> str:
        return f"blob {self.blob_id} in package {self.package_id}"


class Manifest(models.Model):
    """One manifest (image manifest, index, Docker manifest or list, artifact) in one package."""

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="manifests")
    digest = models.CharField(max_length=200)
    media_type = models.CharField(max_length=255)
    size = models.IntegerField()
    content = models.BinaryField()
    artifact_type = models.CharField(max_length=255, blank=True, default="")
    config_media_type = models.CharField(max_length=255, blank=True, default="")
    config_digest = models.CharField(max_length=200, blank=True, default="")
    subject_digest = models.CharField(max_length=200, blank=True, default="", db_index=True)
    annotations = models.JSONField(default=dict, blank=True)
    blobs = models.ManyToManyField(Blob, related_name="manifests", blank=True)
    children = models.ManyToManyField("self", symmetrical=False, related_name="parents", blank=True)
    foreign_urls = models.JSONField(default=list, blank=True)
    # Filled in after the push by tasks.extract_metadata: the image config's labels (for an index, its
    # annotations or else its platform images' labels) and the platform(s) it runs on, as
    # [{"os", "architecture", "variant", "digest"}] (one entry for an image, one per child for an index).
    labels = models.JSONField(default=dict, blank=True)
    platforms = models.JSONField(default=list, blank=True)
    extracted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Soft delete of a version (REGISTRY.md "Deleting"): the row, its blob and child links stay for
    # WHARF_DELETED_RETENTION_DAYS so it can be restored; its tags are removed and remembered in
    # ``deleted_tags``. Retention ignores it; ``gc.purge_deleted`` removes it once ``deleted_cutoff()``
    # passes its deletion.
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    deleted_tags = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["package", "digest"], name="manifest_unique_digest")]

    def __str__(self) -> str:
        return f"{self.package.name}@{self.digest}"


class DownloadCount(models.Model):
    """Pulls of one version (manifest GETs, by tag or digest) per day: totals, charts, delete limits."""

    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="downloads")
    day = models.DateField()
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["manifest", "day"], name="download_unique_day")]

    def __str__(self) -> str:
        return f"{self.count} pulls of manifest {self.manifest_id} on {self.day}"


class Tag(models.Model):
    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=128)
    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="tags")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["package", "name"], name="tag_unique_name")]

    def __str__(self) -> str:
        return f"{self.package.name}:{self.name}"


class Upload(models.Model):
    """A blob upload session, bound to one package and (once accounts exist) one user.

    ``offset`` bytes are durable in the store, ``hash_state`` is the resumable hash of exactly those
    bytes, and ``storage_state`` is the store's bookkeeping (S3 parts, ...). The three change together
    in one conditional UPDATE at the end of each chunk. ``lease_token`` / ``lease_until`` make sure
    only one request writes to a session at a time, across processes and machines.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="uploads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    offset = models.BigIntegerField(default=0)
    hash_algorithm = models.CharField(max_length=10, default="sha256")
    hash_state = models.BinaryField(null=True, blank=True)
    storage_state = models.JSONField(default=dict, blank=True)
    lease_token = models.UUIDField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    def __str__(self) -> str:
        return f"upload {self.id} to {self.package_id}"
