"""Django's SECRET_KEY without WHARF_SECRET_KEY: a random key made on first start and kept in the data
directory (never a key written in the repository), shared by every process of the installation."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from registry_site.secret_key import installation_secret_key

ROOT = Path(__file__).resolve().parents[2]
PRINT_KEY = (
    "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY, settings.DEBUG)"
)


def _start(data_dir: Path, **env: str) -> subprocess.Popen[str]:
    """A fresh process loading Wharf's settings as gunicorn, Celery or manage.py would."""
    environment = {k: v for k, v in os.environ.items() if k not in {"WHARF_SECRET_KEY", "WHARF_DEBUG"}}
    environment |= {"DJANGO_SETTINGS_MODULE": "registry_site.settings", "WHARF_DATA_DIR": str(data_dir), **env}
    return subprocess.Popen(
        [sys.executable, "-c", PRINT_KEY], cwd=ROOT, env=environment, stdout=subprocess.PIPE, text=True
    )


def _key_of(process: subprocess.Popen[str]) -> str:
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    key, debug = out.split()
    assert debug == "False"
    return key


def test_it_makes_a_private_random_key_in_the_data_directory(tmp_path: Path) -> None:
    key = installation_secret_key(tmp_path)
    path = tmp_path / "secret_key"
    assert path.read_text().strip() == key
    assert len(key) >= 50
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert installation_secret_key(tmp_path) == key
    assert installation_secret_key(tmp_path / "other") != key
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_it_refuses_to_start_with_a_file_holding_no_usable_key(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("short\n")
    with pytest.raises(RuntimeError, match="no usable secret key"):
        installation_secret_key(tmp_path)


def test_a_production_start_without_a_key_uses_the_data_directorys_own(tmp_path: Path) -> None:
    first = _key_of(_start(tmp_path))
    assert first == (tmp_path / "secret_key").read_text().strip()
    assert _key_of(_start(tmp_path)) == first  # the next start (or another worker) reads the same key
    other = tmp_path / "elsewhere"
    assert _key_of(_start(other)) not in {first, ""}


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    processes = [_start(tmp_path) for _ in range(4)]
    keys = {_key_of(p) for p in processes}
    assert keys == {(tmp_path / "secret_key").read_text().strip()}


def test_wharf_secret_key_wins_and_no_file_is_written(tmp_path: Path) -> None:
    assert _key_of(_start(tmp_path, WHARF_SECRET_KEY="k" * 50)) == "k" * 50
    assert not (tmp_path / "secret_key").exists()
