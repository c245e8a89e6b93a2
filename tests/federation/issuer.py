"""A CI system's OpenID issuer for tests: its own RSA key, OpenID discovery and JWKS served over HTTP on
a loopback port (as GitHub Actions or GitLab CI serve theirs), and tokens signed with PyJWT."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KID = "test-key-1"
AUDIENCE = "https://wharf.example"
CLAIMS = {"repository": "acme/api", "ref": "refs/heads/main", "sub": "repo:acme/api:ref:refs/heads/main"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class CIIssuer:
    url: str = ""
    key: Any = field(default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048))
    fetches: list[str] = field(default_factory=list)

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [public | {"kid": KID, "use": "sig", "alg": "RS256"}]}

    def sign(self, *, kid: str = KID, key: Any = None, **overrides: Any) -> str:
        """A CI token: this issuer, the test audience, valid for five minutes, ``CLAIMS``; ``None`` drops a claim."""
        now = int(time.time())
        claims = {"iss": self.url, "aud": AUDIENCE, "iat": now, "nbf": now - 5, "exp": now + 300, **CLAIMS}
        claims = {k: v for k, v in (claims | overrides).items() if v is not None}
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": kid})

    def forge(self, alg: str, **overrides: Any) -> str:
        """A token with ``alg`` ``none`` (no signature) or ``HS256`` keyed with this issuer's public key."""
        now = int(time.time())
        claims = {"iss": self.url, "aud": AUDIENCE, "iat": now, "exp": now + 300, **CLAIMS, **overrides}
        head = _b64(json.dumps({"alg": alg, "typ": "JWT", "kid": KID}).encode())
        body = _b64(json.dumps(claims).encode())
        if alg == "none":
            return f"{head}.{body}."
        public_pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        signature = hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{_b64(signature)}"


def _handler(issuer: CIIssuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            issuer.fetches.append(self.path)
            if self.path == "/.well-known/openid-configuration":
                body: Any = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks"}
            elif self.path == "/jwks":
                body = issuer.jwks()
            else:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def ci_issuer() -> Iterator[CIIssuer]:
    issuer = CIIssuer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(issuer))
    issuer.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()
