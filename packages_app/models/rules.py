"""Rules a namespace or a package sets for itself: retention (which versions go), tag rules
(immutable or protected tags) and storage quotas."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .registry import Package


def namespace_xor_package() -> models.Q:
    """The check of a row scoped either to a whole namespace (``namespace`` set, no ``package``) or to
    one package (``package`` set, ``namespace`` empty): tag rules and webhooks."""
    return (models.Q(package__isnull=True) & ~models.Q(namespace="")) | (
        models.Q(package__isnull=False) & models.Q(namespace="")
    )


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
                condition=namespace_xor_package(),
                name="tag_rule_namespace_xor_package",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} tag rule “{self.pattern}”"


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
