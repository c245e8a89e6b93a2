"""Registry data: blobs (content-addressed), packages, manifests, tags and upload sessions.

A blob's bytes live in the blob store (``packages_app.storage``); a row in ``Blob`` is what makes them
visible, and it is written only after the digest was verified. Manifests are small (at most 4 MiB) and
are kept in the database byte for byte, as pushed.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts import signals as organization_signals


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
    all_objects = models.Manager()

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


class Role(models.IntegerChoices):
    """Roles on a package, in increasing order: each includes the ones before it."""

    READ = 1, "Read"
    WRITE = 2, "Write"
    ADMIN = 3, "Admin"


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


class PackageBlob(models.Model):
    """A blob is readable through a repository once it was uploaded or mounted there."""

    package = models.ForeignKey(Package, on_delete=models.CASCADE)
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT)
    # Renewed by every upload or mount of the blob into the package: garbage collection's grace
    # period counts from the latest one.
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["package", "blob"], name="package_blob_unique")]


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


class RetentionRule(models.Model):
    """A package's retention rule, applied by garbage collection (``packages_app.retention``).

    A version (a manifest that is not a platform image of an index or a referrer) is deleted when an
    enabled rule of its package says so: beyond the ``keep_newest`` newest versions, or untagged and
    older than ``untagged_older_than_days``. A version with a tag matching one of ``protected_tags``
    (glob patterns, one per line or comma-separated) is never touched. Empty limits do nothing.
    """

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="retention_rules")
    keep_newest = models.PositiveIntegerField(null=True, blank=True, help_text="keep the N newest versions")
    untagged_older_than_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="delete untagged versions older than D days"
    )
    protected_tags = models.TextField(blank=True, default="", help_text="tag globs never touched, e.g. v*, latest")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"retention rule {self.pk} of {self.package_id}"

    @property
    def tag_patterns(self) -> list[str]:
        return [p.strip() for p in self.protected_tags.replace(",", "\n").splitlines() if p.strip()]


class AuditEvent(models.Model):
    """Who did what to a package, and when (pushes, deletes, restores, visibility and access changes)."""

    class Action(models.TextChoices):
        PUSH = "push", "Pushed"
        DELETE_VERSION = "version.delete", "Deleted a version"
        RESTORE_VERSION = "version.restore", "Restored a version"
        DELETE_TAG = "tag.delete", "Deleted a tag"
        DELETE_PACKAGE = "package.delete", "Deleted the package"
        RESTORE_PACKAGE = "package.restore", "Restored the package"
        VISIBILITY = "visibility", "Changed visibility"
        ACCESS = "access", "Changed access"
        LINK = "repository", "Changed the repository link"
        TAG_RULE = "tag_rule", "Changed the tag rules"
        README = "readme", "Changed the README"
        RETENTION = "retention", "Changed a retention rule"
        # an organization's own events (no package): accounts announces them (accounts.signals)
        MEMBER_ADD = organization_signals.MEMBER_ADD, "Added a member"
        MEMBER_ROLE = organization_signals.MEMBER_ROLE, "Changed a member's role"
        MEMBER_REMOVE = organization_signals.MEMBER_REMOVE, "Removed a member"
        TEAM_CREATE = organization_signals.TEAM_CREATE, "Created a team"
        TEAM_MEMBER_ADD = organization_signals.TEAM_MEMBER_ADD, "Added a team member"
        TEAM_MEMBER_REMOVE = organization_signals.TEAM_MEMBER_REMOVE, "Removed a team member"
        CI_LOGIN = "ci.login", "CI login"  # a CI job's OIDC token exchanged (federation)
        CI_REFUSED = "ci.refused", "CI login refused"

    package = models.ForeignKey(Package, null=True, on_delete=models.SET_NULL, related_name="audit_events")
    namespace = models.CharField(max_length=255, db_index=True)  # kept for the organization's log
    package_name = models.CharField(max_length=255, blank=True)  # empty for an organization's own events
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.CharField(max_length=255)  # "alice", "automation token of acme/api", "anonymous"
    action = models.CharField(max_length=32, choices=Action.choices)
    detail = models.CharField(max_length=1000, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.package_name}"


class TagRule(models.Model):
    """A rule about tags matching ``pattern`` (a glob: ``*``, ``?``, ``[…]``, case-sensitive, matched
    against the whole tag), for one package or every package of a namespace (``packages_app.tag_rules``).

    ``immutable``: once it exists, such a tag never moves to another version and is never deleted.
    ``protected``: only the package's admins (and members of ``team``, when set) may create, move or
    delete it. Retention never deletes a version carrying a tag that either kind matches.
    """

    class Kind(models.TextChoices):
        IMMUTABLE = "immutable", "Immutable"
        PROTECTED = "protected", "Protected"

    namespace = models.CharField(max_length=255, blank=True, default="", db_index=True)
    package = models.ForeignKey(Package, null=True, blank=True, on_delete=models.CASCADE, related_name="tag_rules")
    pattern = models.CharField(max_length=128)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(package__isnull=True) & ~models.Q(namespace=""))
                | (models.Q(package__isnull=False) & models.Q(namespace="")),
                name="tag_rule_namespace_xor_package",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} tag rule “{self.pattern}”"


class BlobReview(models.Model):
    """A blob garbage collection should look at (GitLab's online GC review queue).

    Rows are written by database triggers (migration 0010), whatever code path removes a reference:
    a blob is queued when it is stored, when a manifest stops referring to it and when a repository
    link to it goes. ``gc.garbage_collect`` reviews the rows older than the grace period and only
    those, so its cost follows what changed, not the size of the registry. A HEAD of the blob pushes
    ``queued_at`` forward (``gc_queue.blob_review_postpone``). No foreign-key constraint: a row may
    outlive its blob by a moment; the review then simply drops it.
    """

    blob = models.OneToOneField(
        Blob, primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    queued_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"review of blob {self.blob_id} queued {self.queued_at:%Y-%m-%d %H:%M:%S}"


class StoreDeletion(models.Model):
    """Stored bytes whose row a collection deleted, written in the same transaction: the bytes go after
    the commit, and a worker killed in between leaves this row for the next run to finish."""

    storage_key = models.CharField(max_length=300, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.storage_key


class StoreSweep(models.Model):
    """The orphan sweep's place in the store's key listing (one row), so a sweep that stopped resumes
    where it was instead of listing every key again."""

    after_key = models.CharField(max_length=1024, blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    keys_seen = models.BigIntegerField(default=0)
    orphans_deleted = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"store sweep after {self.after_key!r}"


class StorageQuota(models.Model):
    """A site admin's storage quota for one namespace (a user's or an organization's), overriding
    ``WHARF_QUOTA_DEFAULT_BYTES`` (``packages_app.quotas``). ``limit_bytes`` 0: no limit for it."""

    namespace = models.CharField(max_length=255, unique=True)
    limit_bytes = models.BigIntegerField(help_text="bytes of distinct blobs its packages may hold; 0: no limit")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(limit_bytes__gte=0), name="quota_not_negative")]

    def __str__(self) -> str:
        return f"storage quota of {self.namespace}"
