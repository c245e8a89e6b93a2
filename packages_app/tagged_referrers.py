"""Referrers named by tags rather than by a ``subject`` field: the distribution-spec "Referrers Tag
Schema" (a tag ``sha256-<hex>`` on an index that lists the referrers of ``sha256:<hex>``, kept by
clients of registries without the referrers API) and cosign's fallback tags (``sha256-<hex>.sig``,
``.att``, ``.sbom`` on a signature, attestation or SBOM of it; notation uses the same schema).

They are referrers of the version they name — listed by ``GET /v2/<name>/referrers/<digest>`` and on
that version's page — and never the package's "latest" or install tag (``kinds.release_tags``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .models import Manifest, Package, Tag

FALLBACK_TAG_RE = re.compile(r"sha256-([0-9a-f]{64})(?:\.(sig|att|sbom))?")
SUFFIX_KINDS = {"sig": "Signature", "att": "Attestation", "sbom": "SBOM"}


@dataclass(frozen=True)
class TaggedReferrer:
    manifest: Manifest
    kind: str  # Signature, Attestation, SBOM


def fallback_tags(digest: str) -> list[str]:
    """The tags that would name referrers of ``digest`` (only sha256 digests have a tag form)."""
    algorithm, _, hex_ = digest.partition(":")
    if algorithm != "sha256" or not re.fullmatch(r"[0-9a-f]{64}", hex_):
        return []
    return [f"sha256-{hex_}", *(f"sha256-{hex_}.{suffix}" for suffix in SUFFIX_KINDS)]


def _tags(package: Package, digest: str) -> list[Tag]:
    wanted = fallback_tags(digest)
    if not wanted:
        return []
    live = Tag.objects.filter(package=package, name__in=wanted, manifest__deleted_at__isnull=True)
    return list(live.select_related("manifest").order_by("name"))


def tagged_referrers(*, package: Package, digest: str) -> list[TaggedReferrer]:
    """Manifests tagged ``sha256-<hex>.sig`` / ``.att`` / ``.sbom`` for ``digest``."""
    found = []
    for tag in _tags(package, digest):
        suffix = tag.name.rpartition(".")[2] if "." in tag.name else ""
        if suffix in SUFFIX_KINDS:
            found.append(TaggedReferrer(tag.manifest, SUFFIX_KINDS[suffix]))
    return found


def schema_index_descriptors(*, package: Package, digest: str) -> list[dict[str, Any]]:
    """The descriptors listed by an index tagged ``sha256-<hex>`` (the Referrers Tag Schema)."""
    for tag in _tags(package, digest):
        if "." not in tag.name:
            try:
                listed = json.loads(bytes(tag.manifest.content)).get("manifests", [])
            except (ValueError, AttributeError):
                return []
            return [d for d in listed if isinstance(d, dict) and isinstance(d.get("digest"), str)]
    return []
