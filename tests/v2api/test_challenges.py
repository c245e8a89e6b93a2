"""Bearer challenges (RFC 6750 §3, Docker token authentication) and the refusals that go with them:
the error a challenge names, the scopes it asks for (a push asks for pull,push; a mount also for pull on
its source), why a push is refused, the realm and service from WHARF_PUBLIC_URL whatever the Host header
says, and the cap on scopes per token request. alice owns acme, bob is a member, eve an outsider."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from packages_app.models import Blob, Package, PackageBlob, Visibility
from tests.conftest import basic, make_pat
from tests.oci import make_image, sha256
from tests.v2api.test_auth import HOST, bearer, push_image
from tests.v2api.test_token_endpoint import password_grant
from tests.v2api.test_wsgi import wsgi
from tokens_app.registry_tokens import verify

REALM = f'Bearer realm="http://{HOST}/token",service="{HOST}"'


@pytest.fixture
def app(client: Client, owner: Any) -> Package:
    """acme/app, private, with one image tagged v1."""
    assert push_image(client, "acme/app", basic("alice", make_pat(owner, "write:packages"))).status_code == 201
    return Package.objects.get(name="acme/app")


def post_upload(client: Client, name: str, auth: str | None = None, query: str = "", host: str = HOST) -> Any:
    extra: dict[str, Any] = {"HTTP_AUTHORIZATION": auth} if auth else {}
    return client.post(f"/v2/{name}/blobs/uploads/{query}", HTTP_HOST=host, **extra)


# --- RFC 6750 errors and the scopes a challenge names ----------------------------------------------


def test_an_anonymous_upload_is_challenged_for_pull_and_push_without_an_error(client: Client, db: None) -> None:
    response = post_upload(client, "alice/new")
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert response["WWW-Authenticate"] == f'{REALM},scope="repository:alice/new:pull,push"'


def test_a_token_that_lacks_push_is_told_insufficient_scope_with_403(client: Client, owner: Any) -> None:
    # RFC 6750 §3.1: 403 with the challenge. oras-py keeps its first token on a 401 but fetches a new one
    # for the challenge's scope on a 403 (tests/e2e/test_token_clients.py drives it).
    token = bearer(client, basic("alice", make_pat(owner, "write:packages")), "repository:alice/new:pull")
    response = post_upload(client, "alice/new", token)
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "DENIED"
    assert response["WWW-Authenticate"] == (
        f'{REALM},scope="repository:alice/new:pull,push",error="insufficient_scope"'
    )


def test_an_expired_token_is_told_invalid_token(client: Client, owner: Any, settings: Any) -> None:
    settings.WHARF_REGISTRY_TOKEN_SECONDS = -1
    token = bearer(client, basic("alice", make_pat(owner, "write:packages")), "repository:alice/new:pull,push")
    response = post_upload(client, "alice/new", token)
    assert response.status_code == 401
    assert "expired" in response.json()["errors"][0]["message"]
    assert response["WWW-Authenticate"].endswith(',error="invalid_token"')


def test_a_forged_token_is_told_invalid_token(client: Client, db: None) -> None:
    response = client.get("/v2/", HTTP_AUTHORIZATION="Bearer e30.e30.bm90LWEtc2lnbmF0dXJl", HTTP_HOST=HOST)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == f'{REALM},error="invalid_token"'


def test_a_token_for_another_service_is_refused_as_invalid(client: Client, owner: Any, settings: Any) -> None:
    token = bearer(client, basic("alice", make_pat(owner)), "repository:acme/app:pull")
    settings.WHARF_PUBLIC_URL = "https://elsewhere.example"
    response = client.get("/v2/", HTTP_AUTHORIZATION=token, HTTP_HOST=HOST)
    assert response.status_code == 401
    assert "another service" in response.json()["errors"][0]["message"]
    assert response["WWW-Authenticate"].endswith(',error="invalid_token"')


def test_an_anonymous_token_on_a_private_package_is_told_insufficient_scope_like_a_missing_one(
    client: Client, app: Package
) -> None:
    answers = []
    for name in ("acme/app", "acme/nothing"):
        token = bearer(client, None, f"repository:{name}:pull")
        answers.append(client.get(f"/v2/{name}/manifests/v1", HTTP_AUTHORIZATION=token, HTTP_HOST=HOST))
    private, missing = answers
    assert private.status_code == missing.status_code == 401
    assert private.content == missing.content
    assert private["WWW-Authenticate"].endswith(',error="insufficient_scope"')
    assert private["WWW-Authenticate"].replace("acme/app", "X") == missing["WWW-Authenticate"].replace(
        "acme/nothing", "X"
    )


# --- cross-repository mounts with token auth -------------------------------------------------------


def mount_query(layer: bytes, source: str) -> str:
    return f"?mount={sha256(layer)}&from={source}"


def test_an_anonymous_mount_is_challenged_for_the_destination_and_the_source(client: Client, app: Package) -> None:
    layer = make_image(seed="acme/app").layers[0]
    response = post_upload(client, "alice/copy", query=mount_query(layer, "acme/app"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (f'{REALM},scope="repository:alice/copy:pull,push repository:acme/app:pull"')


def test_a_token_without_pull_on_a_readable_source_is_sent_for_one_then_mounts(client: Client, app: Package) -> None:
    alice = basic("alice", make_pat(app.created_by, "write:packages"))
    layer = make_image(seed="acme/app").layers[0]
    first = bearer(client, alice, "repository:alice/copy:pull,push")
    response = post_upload(client, "alice/copy", first, mount_query(layer, "acme/app"))
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "DENIED"
    assert response["WWW-Authenticate"] == (
        f'{REALM},scope="repository:alice/copy:pull,push repository:acme/app:pull",error="insufficient_scope"'
    )
    both = bearer(client, alice, "repository:alice/copy:pull,push", "repository:acme/app:pull")
    mounted = post_upload(client, "alice/copy", both, mount_query(layer, "acme/app"))
    assert mounted.status_code == 201
    assert mounted["Location"] == f"/v2/alice/copy/blobs/{sha256(layer)}"
    blob = Blob.objects.get(digest=sha256(layer))
    assert PackageBlob.objects.filter(package__name="alice/copy", blob=blob).exists()


def test_the_token_endpoint_grants_source_pull_only_to_those_who_may_read_it(
    client: Client, app: Package, outsider: Any
) -> None:
    eve = basic("eve", make_pat(outsider, "write:packages"))
    token = bearer(client, eve, "repository:eve/copy:pull,push", "repository:acme/app:pull")
    assert verify(token[7:], service=HOST).access == {
        "eve/copy": frozenset({"pull", "push"}),
        "acme/app": frozenset(),
    }


def test_an_outsiders_token_mount_from_a_private_package_uploads_as_from_a_missing_one(
    client: Client, app: Package, outsider: Any
) -> None:
    eve = basic("eve", make_pat(outsider, "write:packages"))
    layer = make_image(seed="acme/app").layers[0]
    answers = []
    for source in ("acme/app", "acme/nothing"):
        token = bearer(client, eve, "repository:eve/copy:pull,push", f"repository:{source}:pull")
        answers.append(post_upload(client, "eve/copy", token, mount_query(layer, source)))
    private, missing = answers
    assert private.status_code == missing.status_code == 202  # no mount, no hint: an upload session
    assert sorted(private.headers.keys()) == sorted(missing.headers.keys())
    assert not PackageBlob.objects.filter(package__name="eve/copy").exists()


# --- why a push is refused (docker shows the message and stops) ------------------------------------


def test_a_push_into_a_namespace_the_caller_cannot_create_in_says_so(client: Client, owner: Any, outsider: Any) -> None:
    response = post_upload(client, "acme/evil", basic("eve", make_pat(outsider, "write:packages")))
    assert response.status_code == 403
    error = response.json()["errors"][0]
    assert error["code"] == "DENIED"
    assert error["message"] == "you cannot create packages in acme"


def test_a_push_to_a_private_package_reads_exactly_as_to_a_missing_one(
    client: Client, app: Package, outsider: Any
) -> None:
    eve = basic("eve", make_pat(outsider, "write:packages"))
    private, missing = post_upload(client, "acme/app", eve), post_upload(client, "acme/nothing", eve)
    assert private.status_code == missing.status_code == 403
    assert private.content == missing.content
    assert sorted(private.headers.keys()) == sorted(missing.headers.keys())


def test_a_reader_is_told_that_pushing_needs_write(client: Client, app: Package, outsider: Any) -> None:
    Package.objects.filter(id=app.id).update(visibility=Visibility.PUBLIC)
    response = post_upload(client, "acme/app", basic("eve", make_pat(outsider, "write:packages")))
    assert response.status_code == 403
    assert (
        response.json()["errors"][0]["message"]
        == "you may read acme/app but not push to it: pushing needs the write role"
    )


def test_a_token_without_the_write_scope_is_told_which_scope_it_lacks(client: Client, owner: Any) -> None:
    response = post_upload(client, "alice/new", basic("alice", make_pat(owner, "read:packages")))
    assert response.status_code == 403
    assert response.json()["errors"][0]["message"] == "permission_denied: the token lacks the write:packages scope"


# --- the public URL, never the Host header --------------------------------------------------------


def test_the_realm_and_service_ignore_the_host_header(client: Client, db: None) -> None:
    response = client.get("/v2/", HTTP_HOST="evil.test")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == REALM


def test_tokens_are_issued_for_the_public_service_whatever_the_host_header(client: Client, owner: Any) -> None:
    response = client.get(
        "/token?service=evil.test&scope=repository:alice/new:pull",
        HTTP_AUTHORIZATION=basic("alice", make_pat(owner)),
        HTTP_HOST="evil.test",
    )
    assert response.status_code == 200
    assert verify(response.json()["token"], service=HOST).access == {"alice/new": frozenset({"pull"})}


def test_the_public_url_setting_moves_the_realm_and_service(client: Client, db: None, settings: Any) -> None:
    settings.WHARF_PUBLIC_URL = "https://cr.example.org:8443"
    response = client.get("/v2/", HTTP_HOST=HOST)
    assert (
        response["WWW-Authenticate"] == 'Bearer realm="https://cr.example.org:8443/token",service="cr.example.org:8443"'
    )


def test_an_explicit_service_name_wins_over_the_public_host(client: Client, db: None, settings: Any) -> None:
    settings.WHARF_REGISTRY_SERVICE = "wharf-registry"
    response = client.get("/v2/", HTTP_HOST=HOST)
    assert response["WWW-Authenticate"] == f'Bearer realm="http://{HOST}/token",service="wharf-registry"'


# --- scopes per token request ----------------------------------------------------------------------


def test_a_token_request_with_too_many_scopes_is_refused_before_any_is_looked_at(
    client: Client, owner: Any, settings: Any
) -> None:
    settings.WHARF_TOKEN_MAX_SCOPES = 5
    scopes = "&".join(f"scope=repository:alice/p{i}:pull" for i in range(6))
    response = client.get(f"/token?{scopes}", HTTP_AUTHORIZATION=basic("alice", make_pat(owner)), HTTP_HOST=HOST)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == "DENIED"
    assert error["message"] == "6 scopes asked for; one token request may ask for at most 5"
    assert "token" not in response.json()


def test_space_separated_scopes_count_one_by_one_towards_the_cap(client: Client, owner: Any, settings: Any) -> None:
    settings.WHARF_TOKEN_MAX_SCOPES = 5
    pat = make_pat(owner)
    within = " ".join(f"repository:alice/p{i}:pull" for i in range(5))
    response = password_grant(client, grant_type="password", username="alice", password=pat, scope=within)
    assert response.status_code == 200
    assert len(verify(response.json()["token"], service=HOST).access) == 5
    over = within + " repository:alice/p5:pull"
    response = password_grant(client, grant_type="password", username="alice", password=pat, scope=over)
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith("6 scopes asked for")


def test_the_default_cap_refuses_ten_thousand_scopes_in_one_parameter(client: Client, owner: Any) -> None:
    scopes = "+".join(f"repository:alice/p{i}:pull" for i in range(10_000))
    response = client.get(f"/token?scope={scopes}", HTTP_HOST=HOST)
    assert response.status_code == 400
    assert response.json()["errors"][0]["detail"] == {"limit": 50}


def test_ten_thousand_scope_parameters_are_a_client_error_not_a_500(client: Client, owner: Any) -> None:
    scopes = "&".join(f"scope=repository:alice/p{i}:pull" for i in range(10_000))
    response = client.get(f"/token?{scopes}", HTTP_HOST=HOST)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "DENIED"


# --- Host headers outside WHARF_ALLOWED_HOSTS, and //v2/ -----------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/v2/", "/v2/acme/app/manifests/v1", "/token"])
def test_a_disallowed_host_gets_an_oci_error_on_registry_paths(settings: Any, path: str) -> None:
    settings.ALLOWED_HOSTS = ["registry.example"]
    answer = wsgi("GET", path, host="evil.test")
    assert answer.status == 400
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json()["errors"][0]["code"] == "DENIED"
    assert answer.headers["Docker-Distribution-API-Version"] == "registry/2.0"


@pytest.mark.django_db
def test_an_allowed_host_is_served_as_usual(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["registry.example"]
    assert wsgi("GET", "/v2/").status == 401


@pytest.mark.django_db
def test_pages_keep_djangos_answer_to_a_disallowed_host(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["registry.example"]
    answer = wsgi("GET", "/", host="evil.test")
    assert answer.status == 400
    assert "application/json" not in answer.headers.get("Content-Type", "")


@pytest.mark.django_db
def test_a_doubled_slash_before_v2_is_the_registry_not_an_html_page() -> None:
    answer = wsgi("GET", "//v2/")
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"] == REALM
    missing = wsgi("GET", "//v2/acme/nothing/manifests/v1")
    assert missing.status == 401
    assert missing.json()["errors"][0]["code"] == "UNAUTHORIZED"
