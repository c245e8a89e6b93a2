"""What every response shares: the API version header, the OCI error body, and the authorization
plug (distribution-spec "Determining Support", "Error Codes"; anonymous access in packages_app.access)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from packages_app.models import Package, Upload, Visibility
from tests.oci import OCI_MANIFEST, make_image, sha256

API_VERSION = "registry/2.0"


def _error_codes(response: Any) -> list[str]:
    return [e["code"] for e in response.json()["errors"]]


def _assert_oci_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response["Docker-Distribution-API-Version"] == API_VERSION
    errors = response.json()["errors"]
    assert [e["code"] for e in errors] == [code]
    assert set(errors[0]) == {"code", "message", "detail"}
    assert isinstance(errors[0]["message"], str)
    assert errors[0]["message"]


@pytest.fixture
def closed(settings: Any, db: None) -> None:
    """The registry as deployed: no anonymous writes."""
    settings.WHARF_ANONYMOUS_PUSH = False


def _push_then_close(registry: Any, settings: Any, name: str, visibility: str) -> Any:
    image = make_image(seed=name)
    assert registry.push_image(name, image, tag="v1").status_code == 201
    Package.objects.filter(name=name).update(visibility=visibility)
    settings.WHARF_ANONYMOUS_PUSH = False
    return image


def _comparable(response: Any) -> tuple[int, bytes, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k.lower() != "date"}
    return response.status_code, response.content, headers


# --- GET /v2/ and the headers of every response ---------------------------------------------------


def test_it_answers_the_version_check_with_200_and_a_json_body(registry: Any) -> None:
    response = registry.client.get("/v2/")
    assert response.status_code == 200
    assert response["Docker-Distribution-API-Version"] == API_VERSION
    assert response["Content-Type"] == "application/json"
    assert response.json() == {}


def test_it_answers_the_version_check_with_oci_accept_headers(registry: Any) -> None:
    response = registry.client.get("/v2/", HTTP_ACCEPT=OCI_MANIFEST)
    assert response.status_code == 200


def test_it_challenges_an_anonymous_version_check_on_a_closed_registry(client: Client, closed: None) -> None:
    response = client.get("/v2/")
    _assert_oci_error(response, 401, "UNAUTHORIZED")
    assert "realm=" in response["WWW-Authenticate"]


@pytest.mark.parametrize(
    "path", ["/v2/nope", "/v2/acme/app/nothing", "/v2/acme/app/blobs/", "/v2/acme/app/tags", "/v2/acme/app/manifests/"]
)
def test_it_answers_unknown_registry_paths_with_an_oci_json_404(client: Client, db: None, path: str) -> None:
    response = client.get(path)
    _assert_oci_error(response, 404, "NAME_UNKNOWN")
    assert b"<html" not in response.content.lower()


def test_it_sends_the_api_version_header_on_success_and_error_answers(registry: Any) -> None:
    image = make_image()
    responses = [
        registry.push_image("acme/app", image, tag="v1"),
        registry.client.get("/v2/acme/app/manifests/v1"),
        registry.client.head("/v2/acme/app/manifests/v1"),
        registry.client.get(f"/v2/acme/app/blobs/{sha256(image.config)}"),
        registry.client.post("/v2/acme/app/blobs/uploads/"),
        registry.client.get("/v2/acme/app/tags/list"),
        registry.client.get(f"/v2/acme/app/referrers/{image.digest}"),
        registry.client.get("/v2/acme/app/manifests/missing"),
        registry.client.head("/v2/acme/app/manifests/missing"),
        registry.client.get(f"/v2/acme/app/blobs/{sha256(b'missing')}"),
        registry.client.get("/v2/Bad/Name/tags/list"),
        registry.client.delete("/v2/acme/app/blobs/uploads/00000000-0000-0000-0000-000000000000"),
        registry.client.get("/v2/unknown/path/entirely"),
    ]
    for response in responses:
        assert response["Docker-Distribution-API-Version"] == API_VERSION, response.request["PATH_INFO"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/v2/acme/app/manifests/latest"),
        ("patch", "/v2/acme/app/manifests/latest"),
        ("put", "/v2/acme/app/tags/list"),
        ("post", "/v2/acme/app/blobs/" + "sha256:" + "0" * 64),
        ("delete", "/v2/"),
    ],
)
def test_it_answers_a_method_an_endpoint_does_not_support_with_405_unsupported(
    registry: Any, method: str, path: str
) -> None:
    response = getattr(registry.client, method)(path)
    _assert_oci_error(response, 405, "UNSUPPORTED")


def test_it_answers_every_client_error_with_the_oci_error_body(registry: Any) -> None:
    registry.push_image("acme/app", make_image())
    _assert_oci_error(registry.client.get("/v2/acme/app/manifests/nope"), 404, "MANIFEST_UNKNOWN")
    _assert_oci_error(registry.client.get(f"/v2/acme/app/blobs/{sha256(b'x')}"), 404, "BLOB_UNKNOWN")
    _assert_oci_error(registry.client.get("/v2/acme/ghost/tags/list"), 404, "NAME_UNKNOWN")
    _assert_oci_error(registry.client.get("/v2/ACME/app/tags/list"), 400, "NAME_INVALID")
    _assert_oci_error(registry.client.get("/v2/acme/app/blobs/sha256:zz"), 400, "DIGEST_INVALID")
    _assert_oci_error(registry.client.get("/v2/acme/app/tags/list?n=x"), 400, "PAGINATION_NUMBER_INVALID")
    _assert_oci_error(
        registry.client.put("/v2/acme/app/manifests/v1", data=b"[]", content_type=OCI_MANIFEST), 400, "MANIFEST_INVALID"
    )
    _assert_oci_error(
        registry.client.get("/v2/acme/app/blobs/uploads/00000000-0000-0000-0000-000000000000"),
        404,
        "BLOB_UPLOAD_UNKNOWN",
    )


def test_it_refuses_a_name_longer_than_255_characters_with_name_invalid(registry: Any) -> None:
    name = "acme/" + "a" * 251
    _assert_oci_error(registry.client.post(f"/v2/{name}/blobs/uploads/"), 400, "NAME_INVALID")
    assert not Package.objects.exists()


# --- the authorization plug -------------------------------------------------------------------------


def test_it_refuses_an_anonymous_upload_with_401_and_a_challenge(client: Client, closed: None) -> None:
    response = client.post("/v2/acme/app/blobs/uploads/")
    _assert_oci_error(response, 401, "UNAUTHORIZED")
    assert "realm=" in response["WWW-Authenticate"]
    assert not Package.objects.exists()
    assert not Upload.objects.exists()


def test_it_refuses_an_anonymous_monolithic_blob_push_with_401(client: Client, closed: None) -> None:
    data = b"blob"
    response = client.post(f"/v2/acme/app/blobs/uploads/?digest={sha256(data)}", data=data, content_type="x/y")
    _assert_oci_error(response, 401, "UNAUTHORIZED")
    assert "WWW-Authenticate" in response
    assert not Package.objects.exists()


def test_it_refuses_an_anonymous_manifest_push_with_401(client: Client, closed: None) -> None:
    image = make_image()
    response = client.put("/v2/acme/app/manifests/v1", data=image.manifest, content_type=OCI_MANIFEST)
    _assert_oci_error(response, 401, "UNAUTHORIZED")
    assert "WWW-Authenticate" in response
    assert not Package.objects.exists()


def test_it_refuses_anonymous_deletes_with_401(registry: Any, settings: Any) -> None:
    image = _push_then_close(registry, settings, "acme/app", Visibility.PUBLIC)
    for path in (
        f"/v2/acme/app/manifests/{image.digest}",
        "/v2/acme/app/manifests/v1",
        f"/v2/acme/app/blobs/{sha256(image.config)}",
    ):
        response = registry.client.delete(path)
        _assert_oci_error(response, 401, "UNAUTHORIZED")
        assert "WWW-Authenticate" in response
    assert registry.client.get("/v2/acme/app/manifests/v1").status_code == 200


def test_it_refuses_anonymous_writes_to_an_open_session_once_the_registry_closes(registry: Any, settings: Any) -> None:
    location = registry.client.post("/v2/acme/app/blobs/uploads/")["Location"]
    settings.WHARF_ANONYMOUS_PUSH = False
    for response in (
        registry.client.get(location),
        registry.client.patch(location, data=b"x", content_type="application/octet-stream"),
        registry.client.put(f"{location}?digest={sha256(b'x')}", data=b"x", content_type="application/octet-stream"),
        registry.client.delete(location),
    ):
        _assert_oci_error(response, 401, "UNAUTHORIZED")
    assert Upload.objects.get().offset == 0


def _pull_everything(client: Client, name: str, image: Any) -> list[Any]:
    suffixes = (
        "manifests/v1",
        f"manifests/{image.digest}",
        f"blobs/{sha256(image.config)}",
        "tags/list",
        f"referrers/{image.digest}",
        "blobs/sha256:bad",
        "manifests/sha256:bad",
    )
    return [getattr(client, method)(f"/v2/{name}/{s}") for s in suffixes for method in ("get", "head")]


@pytest.mark.parametrize("visibility", [Visibility.PRIVATE, Visibility.INTERNAL])
def test_it_answers_an_anonymous_pull_of_a_hidden_package_exactly_like_a_missing_one(
    registry: Any, settings: Any, visibility: str
) -> None:
    image = _push_then_close(registry, settings, "acme/secret", visibility)
    hidden = _pull_everything(registry.client, "acme/secret", image)
    Package.objects.filter(name="acme/secret").delete()
    missing = _pull_everything(registry.client, "acme/secret", image)
    for seen, never in zip(hidden, missing, strict=True):
        assert seen.status_code in (401, 404), seen.request["PATH_INFO"]
        assert _comparable(seen) == _comparable(never), (seen.request["REQUEST_METHOD"], seen.request["PATH_INFO"])
    assert {_error_codes(r)[0] for r in hidden if r.content} <= {"UNAUTHORIZED", "NAME_UNKNOWN"}


def test_it_serves_a_public_package_to_anonymous_callers(registry: Any, settings: Any) -> None:
    image = _push_then_close(registry, settings, "acme/public", Visibility.PUBLIC)
    manifest = registry.client.get("/v2/acme/public/manifests/v1")
    assert manifest.status_code == 200
    assert manifest.content == image.manifest
    blob = registry.client.get(f"/v2/acme/public/blobs/{sha256(image.config)}")
    assert blob.status_code == 200
    assert b"".join(blob.streaming_content) == image.config
    assert registry.client.head(f"/v2/acme/public/manifests/{image.digest}").status_code == 200
    assert registry.client.get("/v2/acme/public/tags/list").json() == {"name": "acme/public", "tags": ["v1"]}
    assert registry.client.get(f"/v2/acme/public/referrers/{image.digest}").status_code == 200
