"""Parsing and validating manifests (image-spec manifest.md, image-index.md, descriptor.md; Docker
image manifest v2 schema 2 and manifest list). Pure functions: bytes in, a ``ParsedManifest`` out."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .exceptions import DigestInvalid, ManifestInvalid
from .names import parse_digest

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_SCHEMA1 = {
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
}
IMAGE_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = IMAGE_TYPES | INDEX_TYPES
# Deeper than any real manifest (an index's platform or an annotation map is three or four levels).
MAX_DEPTH = 32

# Layers that may live elsewhere (Windows base layers): their ``urls`` are recorded, never fetched,
# and the registry does not require the blob (image-spec "Non-distributable layers").
FOREIGN_LAYER_TYPES = frozenset(
    {
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    }
)


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    urls: tuple[str, ...] = ()
    artifact_type: str = ""
    annotations: dict[str, str] = field(default_factory=dict)
    platform: dict[str, Any] | None = None

    @property
    def is_foreign(self) -> bool:
        return self.media_type in FOREIGN_LAYER_TYPES and bool(self.urls)


@dataclass(frozen=True)
class ParsedManifest:
    media_type: str
    config: Descriptor | None
    layers: tuple[Descriptor, ...]
    manifests: tuple[Descriptor, ...]
    subject: Descriptor | None
    artifact_type: str
    annotations: dict[str, str]

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES

    def required_blobs(self) -> list[str]:
        """Blobs that must already be in the repository (spec: MANIFEST_BLOB_UNKNOWN otherwise)."""
        blobs = [self.config.digest] if self.config else []
        return list(dict.fromkeys(blobs + [d.digest for d in self.layers if not d.is_foreign]))

    def required_manifests(self) -> list[str]:
        return list(dict.fromkeys(d.digest for d in self.manifests))

    def foreign_urls(self) -> list[str]:
        return [url for d in self.layers if d.is_foreign for url in d.urls]


def bare_media_type(content_type: str) -> str:
    """Content-Type without parameters (spec: registries SHOULD ignore them)."""
    return content_type.split(";", 1)[0].strip().lower()


def _invalid(message: str) -> ManifestInvalid:
    return ManifestInvalid(f"manifest invalid: {message}", detail={"reason": message})


def _string_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise _invalid(f"{where} must map strings to strings")
    return value


def _descriptor(value: Any, where: str) -> Descriptor:
    if not isinstance(value, dict):
        raise _invalid(f"{where} must be a descriptor object")
    media_type, digest, size = value.get("mediaType"), value.get("digest"), value.get("size")
    if not isinstance(media_type, str) or not media_type:
        raise _invalid(f"{where}.mediaType is required")
    if not isinstance(digest, str):
        raise _invalid(f"{where}.digest is required")
    try:
        parse_digest(digest)
    except DigestInvalid as exc:
        raise _invalid(f"{where}.digest: {exc.message}") from exc
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _invalid(f"{where}.size must be a non-negative integer")
    urls = value.get("urls") or []
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise _invalid(f"{where}.urls must be a list of strings")
    platform = value.get("platform")
    if platform is not None and not isinstance(platform, dict):
        raise _invalid(f"{where}.platform must be an object")
    artifact_type = value.get("artifactType") or ""
    if not isinstance(artifact_type, str):
        raise _invalid(f"{where}.artifactType must be a string")
    return Descriptor(
        media_type=media_type,
        digest=digest,
        size=size,
        urls=tuple(urls),
        artifact_type=artifact_type,
        annotations=_string_map(value.get("annotations"), f"{where}.annotations"),
        platform=platform,
    )


def _media_type(document: dict[str, Any], content_type: str) -> str:
    """The manifest's type, from its ``mediaType`` field and the request's Content-Type.

    image-spec leaves ``mediaType`` optional, so the header is what a registry goes by; a body whose
    field or shape says otherwise could be read as a different document by a client than by us
    (CVE-2021-41190), so any disagreement is refused rather than resolved.
    """
    declared = document.get("mediaType")
    header = bare_media_type(content_type)
    if declared is not None and not isinstance(declared, str):
        raise _invalid("mediaType must be a string")
    if declared in DOCKER_SCHEMA1 or header in DOCKER_SCHEMA1 or document.get("schemaVersion") == 1:
        raise _invalid("Docker schema 1 manifests are not supported")
    if header and header not in MANIFEST_TYPES:
        raise _invalid(f"Content-Type {header[:100]!r} is not a manifest media type")
    if declared and header and declared != header:
        raise _invalid(f"mediaType {declared[:100]!r} does not match Content-Type {header!r}")
    media_type = declared or header
    if not media_type:
        raise _invalid("the manifest's type is given neither by Content-Type nor by mediaType")
    if media_type not in MANIFEST_TYPES:
        raise _invalid(f"unsupported manifest media type {media_type[:100]!r}")
    _check_shape(document, media_type)
    return media_type


def _check_shape(document: dict[str, Any], media_type: str) -> None:
    """image-spec reserves ``manifests`` in an image manifest and ``config``/``layers`` in an index."""
    if media_type in IMAGE_TYPES and "manifests" in document:
        raise _invalid("an image manifest must not have a manifests list")
    if media_type in INDEX_TYPES and ("config" in document or "layers" in document):
        raise _invalid("an index must not have config or layers")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys repeat means different things to parsers that keep the first value and
    those that keep the last: refuse it, as the registry and every client must read the same manifest."""
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise _invalid(f"duplicate key {key[:100]!r}")
        document[key] = value
    return document


def _check_depth(document: Any) -> None:
    """Real manifests nest a few levels; refusing deep ones keeps every later step (storage as JSON,
    metadata extraction) clear of Python's recursion limit."""
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _invalid(f"JSON nests deeper than {MAX_DEPTH} levels")
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


def _load(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body, object_pairs_hook=_unique_keys)
    except RecursionError as exc:
        raise _invalid(f"JSON nests deeper than {MAX_DEPTH} levels") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise _invalid("body is not valid JSON") from exc
    if not isinstance(document, dict):
        raise _invalid("body must be a JSON object")
    _check_depth(document)
    return document


def parse_manifest(body: bytes, content_type: str) -> ParsedManifest:
    """Validate a pushed manifest and return what the registry records about it."""
    document = _load(body)
    media_type = _media_type(document, content_type)
    if document.get("schemaVersion") != 2:
        raise _invalid("schemaVersion must be 2")
    artifact_type = document.get("artifactType") or ""
    if not isinstance(artifact_type, str):
        raise _invalid("artifactType must be a string")
    subject = _descriptor(document["subject"], "subject") if document.get("subject") is not None else None
    annotations = _string_map(document.get("annotations"), "annotations")
    if media_type in INDEX_TYPES:
        children = document.get("manifests")
        if not isinstance(children, list):
            raise _invalid("an index needs a manifests list")
        manifests = tuple(_descriptor(d, f"manifests[{i}]") for i, d in enumerate(children))
        return ParsedManifest(media_type, None, (), manifests, subject, artifact_type, annotations)
    layers = document.get("layers")
    if not isinstance(layers, list):
        raise _invalid("an image manifest needs a layers list")
    if "config" not in document:
        raise _invalid("an image manifest needs a config descriptor")
    config = _descriptor(document["config"], "config")
    parsed_layers = tuple(_descriptor(d, f"layers[{i}]") for i, d in enumerate(layers))
    return ParsedManifest(media_type, config, parsed_layers, (), subject, artifact_type, annotations)
