"""The WSGI entry point as a server calls it: registry paths through the short middleware chain
(``settings.REGISTRY_MIDDLEWARE``), pages through the full one. Django's test client always uses the
full chain, so these tests drive ``registry_site.wsgi.application`` with a WSGI environ instead."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

import pytest
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from registry_site.wsgi import application, is_registry_path
from tests.conftest import basic, make_pat
from tests.oci import make_image, sha256


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    cookies: list[str] = field(default_factory=list)
    file_wrapped: bool = False

    def json(self) -> Any:
        return json.loads(self.body)


class FileWrapper:
    """A server's ``wsgi.file_wrapper``: what gunicorn answers with sendfile."""

    def __init__(self, filelike: Any, block_size: int = 8192) -> None:
        self.filelike, self.block_size = filelike, block_size

    def __iter__(self) -> Iterator[bytes]:
        while data := self.filelike.read(self.block_size):
            yield data

    def close(self) -> None:
        self.filelike.close()


def wsgi(method: str, path: str, body: bytes = b"", query: str = "", **headers: str) -> Answer:
    """One request through ``application``, as gunicorn makes it (headers as ``HTTP_*`` keys)."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "registry.example",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "registry.example",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.file_wrapper": FileWrapper,
        **{f"HTTP_{key.upper()}": value for key, value in headers.items()},
    }
    started: list[Any] = []
    # As Django's test client does: the test's transaction must outlive the request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = application(environ, lambda status, headers, exc_info=None: started.extend([status, headers]))
        try:
            content = b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    status, header_list = started
    named = {k: v for k, v in header_list if k != "Set-Cookie"}
    cookies = [v for k, v in header_list if k == "Set-Cookie"]
    return Answer(int(status.split()[0]), named, content, cookies, isinstance(result, FileWrapper))


@pytest.fixture
def pushed(registry: Any) -> Any:
    image = make_image(seed="wsgi")
    assert registry.push_image("acme/app", image, tag="v1").status_code == 201
    return image


def test_it_routes_registry_paths_and_only_those_to_the_registry_chain() -> None:
    assert is_registry_path("/v2/")
    assert is_registry_path("/v2/acme/app/manifests/v1")
    assert is_registry_path("/token")
    assert not is_registry_path("/v2")
    assert not is_registry_path("/tokens")
    assert not is_registry_path("/acme/app")
    assert not is_registry_path("/admin/")
    assert not is_registry_path("/static/css/wharf.css")


def test_it_keeps_the_registry_chain_a_subsequence_of_the_page_chain_without_page_middleware() -> None:
    chain = settings.REGISTRY_MIDDLEWARE
    assert chain[0] == "v2api.middleware.RegistryHeadersMiddleware"
    assert [m for m in settings.MIDDLEWARE if m in chain] == chain
    for page_only in ("sessions", "csrf", "messages", "clickjacking", "whitenoise", "auth.middleware"):
        assert not any(page_only in m for m in chain)


def test_it_answers_the_version_check_without_page_middleware(open_registry: None, db: None) -> None:
    answer = wsgi("GET", "/v2/")
    assert answer.status == 200
    assert answer.json() == {}
    assert answer.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Content-Length"] == "2"
    assert "X-Frame-Options" not in answer.headers
    assert answer.cookies == []


@pytest.mark.django_db
def test_it_challenges_anonymous_callers_at_the_version_check() -> None:
    answer = wsgi("GET", "/v2/")
    assert answer.status == 401
    assert answer.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert (
        answer.headers["WWW-Authenticate"] == 'Bearer realm="http://registry.example/token",service="registry.example"'
    )
    assert answer.headers["Docker-Distribution-API-Version"] == "registry/2.0"


def test_it_lets_a_personal_access_token_through_the_version_check(owner: Any) -> None:
    answer = wsgi("GET", "/v2/", authorization=basic("alice", make_pat(owner)))
    assert answer.status == 200


def test_it_refuses_a_wrong_token_at_the_version_check(owner: Any) -> None:
    answer = wsgi("GET", "/v2/", authorization=basic("alice", "wharf_pat_not-a-token"))
    assert answer.status == 401
    assert answer.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_it_issues_a_bearer_token_that_opens_the_version_check(owner: Any) -> None:
    issued = wsgi("GET", "/token", query="service=registry.example", authorization=basic("alice", make_pat(owner)))
    assert issued.status == 200
    assert issued.headers["Cache-Control"] == "no-store"
    assert wsgi("GET", "/v2/", authorization=f"Bearer {issued.json()['token']}").status == 200


def test_it_hands_a_blob_to_the_server_file_wrapper(pushed: Any) -> None:
    layer = pushed.layers[0]
    answer = wsgi("GET", f"/v2/acme/app/blobs/{sha256(layer)}")
    assert answer.status == 200
    assert answer.file_wrapped
    assert answer.body == layer
    assert answer.headers["Content-Length"] == str(len(layer))
    assert answer.headers["Docker-Content-Digest"] == sha256(layer)


def test_it_answers_a_blob_range_with_exactly_those_bytes(pushed: Any) -> None:
    layer = pushed.layers[0]
    answer = wsgi("GET", f"/v2/acme/app/blobs/{sha256(layer)}", range="bytes=10-19")
    assert answer.status == 206
    assert answer.body == layer[10:20]
    assert answer.headers["Content-Range"] == f"bytes 10-19/{len(layer)}"


def test_it_serves_a_manifest_by_tag_with_one_read_query(pushed: Any) -> None:
    with CaptureQueriesContext(connection) as queries:
        answer = wsgi("GET", "/v2/acme/app/manifests/v1", accept=pushed.media_type)
    assert answer.status == 200
    assert answer.body == pushed.manifest
    assert answer.headers["Docker-Content-Digest"] == pushed.digest
    assert answer.headers["Content-Type"] == pushed.media_type
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert len(reads) == 1, reads


def test_it_heads_a_blob_with_one_query(pushed: Any) -> None:
    layer = pushed.layers[0]
    with CaptureQueriesContext(connection) as queries:
        answer = wsgi("HEAD", f"/v2/acme/app/blobs/{sha256(layer)}")
    assert answer.status == 200
    assert answer.body == b""
    assert answer.headers["Content-Length"] == str(len(layer))
    assert len(queries.captured_queries) == 1


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/v2/acme/app/manifests/v2", "MANIFEST_UNKNOWN"),
        ("/v2/acme/app/manifests/sha256:" + "0" * 64, "MANIFEST_UNKNOWN"),
        ("/v2/acme/nothing/manifests/v1", "NAME_UNKNOWN"),
        ("/v2/acme/nothing/manifests/sha256:bad", "NAME_UNKNOWN"),
        ("/v2/acme/app/manifests/sha256:bad", "DIGEST_INVALID"),
        ("/v2/acme/app/blobs/sha256:" + "0" * 64, "BLOB_UNKNOWN"),
        ("/v2/acme/nothing/blobs/sha256:bad", "NAME_UNKNOWN"),
    ],
)
def test_it_tells_an_unknown_manifest_from_an_unknown_package(pushed: Any, path: str, code: str) -> None:
    answer = wsgi("GET", path)
    assert answer.json()["errors"][0]["code"] == code


def test_it_accepts_a_monolithic_push_without_a_csrf_token(open_registry: None, db: None) -> None:
    data = b"pushed through the registry chain"
    answer = wsgi("POST", "/v2/acme/app/blobs/uploads/", data, query=f"digest={sha256(data)}")
    assert answer.status == 201
    assert wsgi("GET", f"/v2/acme/app/blobs/{sha256(data)}").body == data


@pytest.mark.django_db
def test_it_serves_pages_through_the_full_chain() -> None:
    answer = wsgi("GET", "/accounts/login/")
    assert answer.status == 200
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert any(cookie.strip().startswith("csrftoken=") for cookie in answer.cookies)
    assert "Docker-Distribution-API-Version" in answer.headers
