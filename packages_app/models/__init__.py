"""The packages app's tables, one module per concept; every model is importable from here
(``packages_app.models.Package``), as Django and the migrations expect.

- ``registry``: blobs, packages, grants, manifests, tags, pull counts, upload sessions;
- ``rules``: retention rules, tag rules, storage quotas;
- ``audit``: the audit log;
- ``collector``: the garbage collector's queues and the orphan sweep's progress.
"""

from accounts.roles import Role

from .audit import AuditEvent
from .collector import BlobReview, StoreDeletion, StoreSweep
from .registry import (
    Blob,
    DownloadCount,
    LivePackageManager,
    Manifest,
    Package,
    PackageBlob,
    PackagePermission,
    Tag,
    Upload,
    Visibility,
    deleted_cutoff,
    deleted_retention_days,
)
from .rules import RetentionRule, StorageQuota, TagRule, namespace_xor_package

__all__ = [
    "AuditEvent",
    "Blob",
    "BlobReview",
    "DownloadCount",
    "LivePackageManager",
    "Manifest",
    "Package",
    "PackageBlob",
    "PackagePermission",
    "RetentionRule",
    "Role",
    "StorageQuota",
    "StoreDeletion",
    "StoreSweep",
    "Tag",
    "TagRule",
    "Upload",
    "Visibility",
    "deleted_cutoff",
    "deleted_retention_days",
    "namespace_xor_package",
]
