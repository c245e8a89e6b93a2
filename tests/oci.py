"""Builders for test content: blobs, image configs, manifests and indexes, with their digests."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from typing import Any

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha512(data: bytes) -> str:
    return "sha512:" + hashlib.sha512(data).hexdigest()


def canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def layer_tar(files: dict[str, bytes]) -> bytes:
    """A gzipped tar layer holding ``files`` (deterministic: fixed mtime)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mtime = len(data), 0
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


@dataclass
class Image:
    """An image manifest with its config and layers, ready to push."""

    config: bytes
    layers: list[bytes]
    manifest: bytes
    media_type: str = OCI_MANIFEST
    blobs: dict[str, bytes] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return sha256(self.manifest)

    def descriptor(self, platform: dict[str, str] | None = None) -> dict[str, Any]:
        d: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": len(self.manifest)}
        if platform:
            d["platform"] = platform
        return d


def make_image(
    *,
    labels: dict[str, str] | None = None,
    layers: list[bytes] | None = None,
    arch: str = "amd64",
    docker: bool = False,
    subject: dict[str, Any] | None = None,
    artifact_type: str | None = None,
    annotations: dict[str, str] | None = None,
    seed: str = "",
) -> Image:
    layers = layers if layers is not None else [layer_tar({"hello.txt": f"hello {seed} {arch}\n".encode()})]
    config_doc = {
        "architecture": arch,
        "os": "linux",
        "config": {"Labels": labels or {}},
        "rootfs": {"type": "layers", "diff_ids": [sha256(gzip.decompress(layer)) for layer in layers]},
    }
    config = canonical(config_doc)
    media_type = DOCKER_MANIFEST if docker else OCI_MANIFEST
    manifest_doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {"mediaType": DOCKER_CONFIG if docker else OCI_CONFIG, "digest": sha256(config), "size": len(config)},
        "layers": [
            {"mediaType": DOCKER_LAYER if docker else OCI_LAYER, "digest": sha256(layer), "size": len(layer)}
            for layer in layers
        ],
    }
    if subject:
        manifest_doc["subject"] = subject
    if artifact_type:
        manifest_doc["artifactType"] = artifact_type
    if annotations:
        manifest_doc["annotations"] = annotations
    blobs = {sha256(config): config, **{sha256(layer): layer for layer in layers}}
    return Image(config, layers, canonical(manifest_doc), media_type, blobs)


def make_index(images: list[tuple[Image, dict[str, str]]], *, annotations: dict[str, str] | None = None) -> bytes:
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [image.descriptor(platform) for image, platform in images],
    }
    if annotations:
        doc["annotations"] = annotations
    return canonical(doc)
