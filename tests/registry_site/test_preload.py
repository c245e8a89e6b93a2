"""gunicorn's master imports the application before it forks the workers (``preload_app``): that import
must leave nothing a worker would share with the master or its siblings -- no database or Redis
connection, no socket, no thread (a thread does not survive a fork) -- and it must not load the REST
API's schema machinery (drf-spectacular's generator, ``django.test``, Jinja2), which only the docs
pages use."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What gunicorn's master does with preload_app: import the WSGI module named on its command line.
MASTER = """
import json, os, sys, threading

def sockets():
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                found.add(fd)
        except OSError:
            pass
    return found

before = sockets()
import registry_site.wsgi
from django.db import connections
from django.urls import get_resolver
from throttling.limiter import backend

get_resolver().url_patterns  # the URLconf too: the first request would load it otherwise
print(json.dumps({
    "threads": [t.name for t in threading.enumerate()],
    "databases": [c.alias for c in connections.all(initialized_only=True) if c.connection is not None],
    "new_sockets": sorted(sockets() - before),
    "rate_limiter_made": backend.cache_info().currsize,
    "loaded": [m for m in ("django.test", "jinja2", "drf_spectacular.openapi") if m in sys.modules],
}))
"""


def test_importing_the_application_opens_no_connection_socket_or_thread(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "registry_site.settings",
        "WHARF_DATA_DIR": str(tmp_path),
        "WHARF_RATE_LIMIT_REDIS_URL": "redis://127.0.0.1:6379/12",
        "WHARF_METRICS": "token",
        "WHARF_METRICS_TOKEN": "a-test-token-of-some-length",
    }
    out = subprocess.run(
        [sys.executable, "-c", MASTER], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    ).stdout
    state = json.loads(out.splitlines()[-1])
    nothing = {"databases": [], "new_sockets": [], "rate_limiter_made": 0, "loaded": []}
    assert state == {"threads": ["MainThread"], **nothing}


def test_gunicorn_preloads_unless_told_not_to(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WHARF_PRELOAD", raising=False)
    assert runpy.run_path(str(ROOT / "registry_site/gunicorn.conf.py"))["preload_app"] is True
    monkeypatch.setenv("WHARF_PRELOAD", "false")
    assert runpy.run_path(str(ROOT / "registry_site/gunicorn.conf.py"))["preload_app"] is False


def test_the_master_freezes_its_heap_before_each_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    frozen: list[bool] = []
    config = runpy.run_path(str(ROOT / "registry_site/gunicorn.conf.py"))
    monkeypatch.setattr(config["gc"], "freeze", lambda: frozen.append(True))
    config["pre_fork"](None, None)
    assert frozen == [True]
