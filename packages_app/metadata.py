"""Label and annotation extraction after a push (issue 6, REGISTRY.md "Background work").

An image's labels are its config blob's ``config.Labels`` (read from the store, at most
``CONFIG_READ_LIMIT`` bytes: a config that is larger or not JSON gives no labels), overridden by the
manifest's own annotations. An index's labels are its annotations, falling back key by key to its
platform images' labels (the first platform that has a key wins). Children are read directly, never
from their own extraction, so the tasks may run in any order. The package's description, licenses and
source come from the newest tagged live image (the one whose tag moved last; never a referrer); they are refreshed after
each push and each delete or restore of a version or tag, so a deleted version's description never stays.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone
from django.utils.html import strip_tags

from .kinds import speaking_tags
from .manifests import INDEX_TYPES
from .models import Blob, Manifest, Package, Tag
from .progress import Progress
from .repository_links import package_link_from_source_label
from .storage import BlobStore, blob_store

CONFIG_READ_LIMIT = 1024 * 1024
MAX_LABELS = 256
MAX_LABEL_KEY = 256
MAX_LABEL_VALUE = 4096
DESCRIPTION = "org.opencontainers.image.description"
LICENSES = "org.opencontainers.image.licenses"
SOURCE = "org.opencontainers.image.source"
# Docker and BuildKit put attestations into an index as pseudo-platforms: they are not platforms.
ATTESTATION_ANNOTATION = "vnd.docker.reference.type"


def manifest_extract_metadata(*, manifest_id: int, store: BlobStore | None = None) -> Manifest | None:
    """Write a manifest's labels and platforms, then refresh its package. Idempotent; a manifest deleted
    since the push is no error (returns None)."""
    manifest = Manifest.objects.select_related("package").filter(id=manifest_id).first()
    if manifest is None:
        return None
    _extract_into(manifest, store or blob_store())
    package_refresh_metadata(package=manifest.package, store=store)
    return manifest


def _extract_into(manifest: Manifest, store: BlobStore) -> None:
    labels, platforms = _labels_and_platforms(manifest, store)
    manifest.labels, manifest.platforms, manifest.extracted_at = labels, platforms, timezone.now()
    Manifest.objects.filter(id=manifest.id).update(
        labels=labels, platforms=platforms, extracted_at=manifest.extracted_at
    )


def _labels_and_platforms(manifest: Manifest, store: BlobStore) -> tuple[dict[str, str], list[dict[str, str]]]:
    document = _json_object(bytes(manifest.content))
    if manifest.media_type in INDEX_TYPES:
        children = _platform_children(manifest, document)
        fallback: dict[str, str] = {}
        for child in reversed(children):  # the first platform wins a key
            fallback |= _image_labels_and_platform(child, store)[0]
        platforms = [_descriptor_platform(d) for d in document.get("manifests", []) if _is_platform(d)]
        return _clean_labels(fallback | manifest.annotations), platforms
    labels, platform = _image_labels_and_platform(manifest, store)
    return labels, [platform | {"digest": manifest.digest}] if platform else []


def _image_labels_and_platform(manifest: Manifest, store: BlobStore) -> tuple[dict[str, str], dict[str, str]]:
    """An image's config labels (overridden by its annotations) and the platform its config names."""
    config = _read_config(manifest.config_digest, store) if manifest.config_digest else {}
    inner = config.get("config")
    labels = inner.get("Labels") if isinstance(inner, dict) else None
    merged = (labels if isinstance(labels, dict) else {}) | manifest.annotations
    platform = {k: config[k] for k in ("os", "architecture", "variant") if isinstance(config.get(k), str)}
    return _clean_labels(merged), platform if "os" in platform or "architecture" in platform else {}


def _read_config(digest: str, store: BlobStore) -> dict[str, Any]:
    """The config blob as a JSON object, reading at most CONFIG_READ_LIMIT bytes; {} when it is
    missing, larger than the limit, or not a JSON object."""
    blob = Blob.objects.filter(digest=digest).first()
    if blob is None or blob.size > CONFIG_READ_LIMIT:
        return {}
    try:
        with store.open(blob.storage_key) as stream:
            data = stream.read(CONFIG_READ_LIMIT + 1)
    except OSError:
        return {}
    return _json_object(data) if len(data) <= CONFIG_READ_LIMIT else {}


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {}
    return document if isinstance(document, dict) else {}


def _is_platform(descriptor: Any) -> bool:
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("platform"), dict):
        return False
    annotations = descriptor.get("annotations")
    attestation = isinstance(annotations, dict) and ATTESTATION_ANNOTATION in annotations
    return not attestation and descriptor["platform"].get("os") != "unknown"


def _descriptor_platform(descriptor: dict[str, Any]) -> dict[str, str]:
    platform = descriptor["platform"]
    entry = {k: platform[k] for k in ("os", "architecture", "variant") if isinstance(platform.get(k), str)}
    return entry | {"digest": str(descriptor.get("digest", ""))}


def _platform_children(manifest: Manifest, document: dict[str, Any]) -> list[Manifest]:
    """The index's platform images that are stored, in the index's order (attestations left out)."""
    digests = [d.get("digest") for d in document.get("manifests", []) if _is_platform(d)]
    if not digests:  # an index without platforms: every child counts
        digests = [d.get("digest") for d in document.get("manifests", []) if isinstance(d, dict)]
    found = {m.digest: m for m in Manifest.objects.filter(package_id=manifest.package_id, digest__in=digests)}
    return [found[d] for d in digests if d in found and found[d].media_type not in INDEX_TYPES]


def _clean_labels(labels: dict[Any, Any]) -> dict[str, str]:
    """Only string keys and values, without NUL (PostgreSQL's jsonb cannot hold it), each cut to a sane
    length, at most MAX_LABELS of them."""
    strings = [
        (k.replace("\x00", ""), v.replace("\x00", ""))
        for k, v in labels.items()
        if isinstance(k, str) and isinstance(v, str)
    ]
    clean = {k[:MAX_LABEL_KEY]: v[:MAX_LABEL_VALUE] for k, v in strings}
    return dict(list(clean.items())[:MAX_LABELS])


# --- the package ---------------------------------------------------------------------------------


def newest_tagged_manifest(*, package: Package) -> Manifest | None:
    """The live image whose tag was pushed last (ties: the newer manifest); a referrer or an artifact
    tagged since never takes its place (``kinds``)."""
    tags = speaking_tags(Tag.objects.filter(package=package, manifest__deleted_at__isnull=True))
    newest = tags.select_related("manifest").order_by("-updated_at", "-manifest_id").first()
    return newest.manifest if newest is not None else None


def package_refresh_metadata(*, package: Package, store: BlobStore | None = None) -> None:
    """Description (plain text, ≤ 512), licenses (≤ 256) and source URL (http(s), ≤ 2048) from the newest
    tagged version's labels; extracted now if its own task has not run yet. No tagged version (never
    tagged, or its last tagged version or tag was deleted): the fields are emptied."""
    manifest = newest_tagged_manifest(package=package)
    if manifest is not None and manifest.extracted_at is None:
        _extract_into(manifest, store or blob_store())
    labels = (manifest.labels or {}) if manifest is not None else {}
    fields = {
        "description": plain_text(labels.get(DESCRIPTION, ""), 512),
        "licenses": plain_text(labels.get(LICENSES, ""), 256, one_line=True),
        "source_url": http_url(labels.get(SOURCE, ""), 2048),
    }
    with transaction.atomic():
        Package.objects.filter(id=package.id).update(**fields)
    package_link_source_repository(package=package, source_url=fields["source_url"])


def package_link_source_repository(*, package: Package, source_url: str) -> None:
    """HOOK: link the package to the source repository its source URL names (``services`` decides)."""
    package_link_from_source_label(package=package, source_url=source_url)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain_text(value: str, limit: int, *, one_line: bool = False) -> str:
    """Markup and control characters removed (newlines and tabs kept unless ``one_line``), at most
    ``limit`` characters, cut with an ellipsis."""
    text = _CONTROL.sub("", strip_tags(unicodedata.normalize("NFC", value)))
    text = " ".join(text.split()) if one_line else text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def http_url(value: str, limit: int) -> str:
    """``value`` if it is an http(s) URL with a host, no whitespace or control characters and at most
    ``limit`` characters; otherwise empty."""
    url = value.strip()
    if len(url) > limit or _CONTROL.search(url) or any(c.isspace() for c in url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme.lower() in {"http", "https"} and parts.hostname else ""


def metadata_extract_pending(*, limit: int = 1000, progress: Progress | None = None) -> int:
    """Extract up to ``limit`` manifests that were never extracted, oldest first; returns how many."""
    pending = list(
        Manifest.objects.filter(extracted_at__isnull=True).order_by("id").values_list("id", flat=True)[:limit]
    )
    for number, manifest_id in enumerate(pending, 1):
        manifest_extract_metadata(manifest_id=manifest_id)
        if progress:
            progress(f"[{number}/{len(pending)}] extracted manifest {manifest_id}")
    return len(pending)
