"""Django's ``SECRET_KEY`` when ``WHARF_SECRET_KEY`` is not set: a random key made on first start and
kept in the data directory, as the registry's token signing key is kept by the installation.

Session cookies, CSRF tokens and personal-access-token HMACs all derive from this key, so it is never
one that is written down anywhere public (the repository has none). Every process of the installation
(gunicorn's workers, Celery, ``manage.py``) reads the same file; the first to start writes it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

FILE_NAME = "secret_key"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return ""


def _create(path: Path) -> None:
    """Write a new key where no process can see it half-written: a private temporary file, then a
    hard link to the final name, which fails if another process got there first (its key wins)."""
    temporary = path.with_name(f".{FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)


def installation_secret_key(data_dir: Path) -> str:
    """The key in ``data_dir/secret_key``, created with mode 0600 if there is none yet."""
    path = data_dir / FILE_NAME
    key = _read(path)
    if not key:
        data_dir.mkdir(parents=True, exist_ok=True)
        _create(path)
        key = _read(path)
    if len(key) < 32:
        raise RuntimeError(f"{path} holds no usable secret key; remove it to have a new one made")
    return key
