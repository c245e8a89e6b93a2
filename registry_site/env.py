"""Readers of the environment for ``registry_site.settings``: plain Python, used before Django is set up.

An unset variable and an empty one both mean the default. Lists are comma-separated, with blanks and
empty entries dropped; ``DATABASE_URL`` is a ``postgres://`` or ``sqlite://`` URL.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit


def envstr(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def envlist(name: str, default: str = "", *, lower: bool = False) -> list[str]:
    """The comma-separated entries of ``name``, stripped (and lowercased if ``lower``), empty ones left out."""
    entries = [entry.strip() for entry in envstr(name, default).split(",") if entry.strip()]
    return [entry.lower() for entry in entries] if lower else entries


def database_from_url(url: str) -> dict[str, object]:
    """Turn ``postgres://user:pass@host:port/name`` or ``sqlite:///path`` into a DATABASES entry."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": unquote(parts.path) or ":memory:"}
    if parts.scheme in {"postgres", "postgresql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": envint("WHARF_DB_CONN_MAX_AGE", 60),
            # Off: a health check is a `SELECT 1` round trip before the first query of every request
            # (a third of a manifest pull's database time). A connection the server ended (a
            # restart, a failover) is found instead by registry_site.connections, which polls each
            # idle connection's socket at request start (no round trip) and replaces a dead one.
            "CONN_HEALTH_CHECKS": False,
        }
    raise ValueError(f"DATABASE_URL scheme {parts.scheme!r} is not supported (use postgres:// or sqlite://)")


def blob_storage(kind: str, data_dir: Path) -> dict[str, object]:
    """The ``blobs`` entry of STORAGES for ``WHARF_STORAGE`` (``kind``): S3 reads ``WHARF_S3_*``."""
    if kind == "s3":
        return {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": envstr("WHARF_S3_BUCKET", "wharf"),
                "endpoint_url": envstr("WHARF_S3_ENDPOINT_URL") or None,
                "region_name": envstr("WHARF_S3_REGION", "us-east-1"),
                "access_key": envstr("WHARF_S3_ACCESS_KEY_ID") or None,
                "secret_key": envstr("WHARF_S3_SECRET_ACCESS_KEY") or None,
                "addressing_style": envstr("WHARF_S3_ADDRESSING_STYLE", "path"),
                "querystring_expire": envint("WHARF_S3_PRESIGN_SECONDS", 300),
                "signature_version": "s3v4",
                "default_acl": None,
                "file_overwrite": True,
            },
        }
    if kind == "filesystem":
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(data_dir / "blobs")},
        }
    raise ValueError("WHARF_STORAGE must be 'filesystem' or 's3'")
