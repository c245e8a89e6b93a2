"""What a stored manifest is to its package: an image (or an index of images), an artifact (a Helm
chart, a plain ``oras push``), or a referrer (a signature, SBOM or attestation naming a ``subject``).

A package's page speaks for its images: the install tag, description, licences, source and platforms
come from them, never from a referrer or an artifact pushed beside them with a tag of its own — unless
the package holds nothing else, when its newest artifact speaks for it. Referrers never do.
Tags named like the referrers-API fallback (``sha256-<hex>``, and cosign's ``sha256-<hex>.sig``) name
attachments, not releases, so they never count as a package's tag either.

A *version* (``versions``) is what the versions list, the package page and the REST API count and
list: every live manifest except the untagged platform images of an index (listed as its platforms),
referrers without a release tag of their own (listed under their subject) and manifests tagged only
with fallback tags (attachments). Retention plans over the same rows in memory (``retention``).
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q, QuerySet

from .manifests import IMAGE_TYPES, INDEX_TYPES
from .models import Manifest, Package, Tag

FALLBACK_TAG_PREFIX = "sha256-"
IMAGE_CONFIG_TYPES = frozenset(
    {"application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"}
)


def not_a_referrer(prefix: str = "") -> Q:
    """Manifests (or, with ``prefix="manifest__"``, tags) that name no subject."""
    return Q(**{f"{prefix}subject_digest": ""})


def is_image(prefix: str = "") -> Q:
    """Images and indexes of images: no subject, no artifact type, an image config."""
    fields = {"artifact_type": "", "media_type__in": IMAGE_TYPES, "config_media_type__in": IMAGE_CONFIG_TYPES}
    image = Q(**{f"{prefix}{k}": v for k, v in fields.items()})
    index = Q(**{f"{prefix}artifact_type": "", f"{prefix}media_type__in": INDEX_TYPES})
    return not_a_referrer(prefix) & (image | index)


def release_tags(tags: QuerySet[Tag]) -> QuerySet[Tag]:
    """Tags that name a release, not an attachment (fallback tags left out)."""
    return tags.exclude(name__startswith=FALLBACK_TAG_PREFIX)


def speaking_tags(tags: QuerySet[Tag]) -> QuerySet[Tag]:
    """The release tags that may speak for the package: those on images if any image is tagged, else
    those on artifacts; never those on referrers."""
    releases = release_tags(tags)
    on_images = releases.filter(is_image("manifest__"))
    return on_images if on_images.exists() else releases.filter(not_a_referrer("manifest__"))


def versions(package: Package, *, tagged: bool | None = None) -> QuerySet[Manifest]:
    """The live versions of ``package``, newest first (the one definition); ``tagged`` True or False:
    only those with or without a tag."""
    releases = Count("tags", filter=~Q(tags__name__startswith=FALLBACK_TAG_PREFIX), distinct=True)
    rows = (
        Manifest.objects.filter(package=package, deleted_at__isnull=True)
        .annotate(n_parents=Count("parents", distinct=True), n_tags=Count("tags", distinct=True), n_releases=releases)
        .exclude(n_parents__gt=0, n_tags=0)
        .exclude(~not_a_referrer(), n_releases=0)  # a referrer is a version only under a tag of its own
        # Tagged only sha256-<hex>[.sig|.att|.sbom]: an attachment, listed under the version it names
        # (packages_app.tagged_referrers), not a version of its own.
        .exclude(n_tags__gt=0, n_releases=0)
    )
    if tagged is not None:
        rows = rows.filter(n_tags__gt=0) if tagged else rows.filter(n_tags=0)
    return rows.order_by("-created_at", "-id")


def deleted_versions(package: Package, cutoff: datetime) -> QuerySet[Manifest]:
    """Versions of ``package`` deleted after ``cutoff`` (restorable), most recently deleted first: the
    deleted manifests that are neither referrers nor platform images of another (they went with it)."""
    deleted = Manifest.objects.filter(package=package, deleted_at__gt=cutoff).filter(not_a_referrer())
    return (
        deleted.annotate(n_parents=Count("parents", distinct=True))
        .exclude(n_parents__gt=0)
        .order_by("-deleted_at", "-id")
    )
