"""A real OpenID provider for the sign-in tests: node-oidc-provider (npm ``oidc-provider``, installed by
``npm ci`` in tests/e2e/idp/) run by ``tests/e2e/idp/server.mjs`` on a free loopback port, with a test
client for the Wharf server and a few users with passwords, e-mail and groups."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import free_port

IDP_DIR = Path(__file__).resolve().parent / "idp"
CLIENT_ID, CLIENT_SECRET = "wharf-test", "wharf-test-secret"


@dataclass
class IdP:
    issuer: str
    process: subprocess.Popen[bytes]


def oidc_env(issuer: str, group_map: str) -> dict[str, str]:
    """The Wharf server's settings for one provider, ``corp``."""
    return {
        "WHARF_OIDC_PROVIDERS": "corp",
        "WHARF_OIDC_CORP_NAME": "Corp SSO",
        "WHARF_OIDC_CORP_ISSUER": issuer,
        "WHARF_OIDC_CORP_CLIENT_ID": CLIENT_ID,
        "WHARF_OIDC_CORP_CLIENT_SECRET": CLIENT_SECRET,
        "WHARF_OIDC_CORP_SCOPES": "openid profile email groups",
        "WHARF_OIDC_CORP_GROUP_MAP": group_map,
    }


def start_idp(tmp_path: Path, port: int, wharf_host: str, users: dict[str, Any]) -> IdP:
    node = shutil.which("node")
    if node is None or not (IDP_DIR / "node_modules" / "oidc-provider").exists():
        pytest.skip("node or tests/e2e/idp/node_modules is missing (cd tests/e2e/idp && npm ci)")
    issuer = f"http://127.0.0.1:{port}"
    config = {
        "port": port,
        "issuer": issuer,
        "clients": [
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [f"http://{wharf_host}/accounts/oidc/corp/login/callback/"],
                "token_endpoint_auth_method": "client_secret_post",
                "scope": "openid profile email groups",
            }
        ],
        "users": users,
    }
    (tmp_path / "idp.json").write_text(json.dumps(config))
    log = open(tmp_path / "idp.log", "wb")  # noqa: SIM115 (kept open for the process's life)
    process = subprocess.Popen(
        [node, str(IDP_DIR / "server.mjs"), str(tmp_path / "idp.json")],
        cwd=IDP_DIR, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=os.environ.copy(),
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while b"ready" not in (tmp_path / "idp.log").read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the test IdP did not start:\n{(tmp_path / 'idp.log').read_text(errors='replace')}")
        time.sleep(0.1)
    return IdP(issuer, process)


def stop_idp(idp: IdP) -> None:
    idp.process.terminate()
    try:
        idp.process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        idp.process.kill()
        idp.process.wait()


@pytest.fixture
def idp_port() -> int:
    return free_port()


def idp_running(tmp_path: Path, port: int, wharf_host: str, users: dict[str, Any]) -> Iterator[IdP]:
    idp = start_idp(tmp_path, port, wharf_host, users)
    try:
        yield idp
    finally:
        stop_idp(idp)
