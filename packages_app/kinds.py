"""What a stored manifest is to its package: an image (or an index of images), an artifact (a Helm
chart, a plain ``oras push``), or a referrer (a signature, SBOM or attestation naming a ``subject``).

A package's page speaks for its images: the install tag, description, licences, source and platforms
come from them, never from a referrer or an artifact pushed beside them with a tag of its own — unless
the package holds nothing else, when its newest artifact speaks for it. Referrers never do.
Tags named like the referrers-API fallback (``sha256-<hex>``, and cosign's ``sha256-<hex>.sig``) name
attachments, not releases, so they never count as a package's tag either.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from .manifests import IMAGE_TYPES, INDEX_TYPES
from .models import Tag

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
