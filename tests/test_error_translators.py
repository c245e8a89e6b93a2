"""Each surface's one translator of domain errors: the OCI table (/v2), the REST table (/api) and the
pages' middleware and blocks (ui.page_errors)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from rest_framework import exceptions

from accounts.forms import TeamForm
from api import errors as rest
from packages_app import exceptions as domain
from packages_app.models import Package, Visibility
from packages_app.services.packages import package_for_write
from tests.conftest import make_pat
from ui import page_errors
from v2api import errors as oci

# --- OCI (/v2) -----------------------------------------------------------------------------------

# Every OCI code and status as they were before the REST and page families joined the table.
OCI_BEFORE: dict[type[domain.RegistryError], tuple[str, int]] = {
    domain.NameInvalid: ("NAME_INVALID", 400),
    domain.NameUnknown: ("NAME_UNKNOWN", 404),
    domain.TagInvalid: ("TAG_INVALID", 400),
    domain.DigestInvalid: ("DIGEST_INVALID", 400),
    domain.DigestUnsupported: ("DIGEST_INVALID", 400),
    domain.SizeInvalid: ("SIZE_INVALID", 400),
    domain.TooLarge: ("SIZE_INVALID", 413),
    domain.BlobUnknown: ("BLOB_UNKNOWN", 404),
    domain.BlobUploadUnknown: ("BLOB_UPLOAD_UNKNOWN", 404),
    domain.UploadGone: ("BLOB_UPLOAD_UNKNOWN", 404),
    domain.BlobUploadInvalid: ("BLOB_UPLOAD_INVALID", 400),
    domain.TooManyUploads: ("TOOMANYREQUESTS", 429),
    domain.StorageFull: ("UNAVAILABLE", 507),
    domain.UploadRangeInvalid: ("RANGE_INVALID", 416),
    domain.RangeNotSatisfiable: ("RANGE_INVALID", 416),
    domain.ManifestUnknown: ("MANIFEST_UNKNOWN", 404),
    domain.ManifestInvalid: ("MANIFEST_INVALID", 400),
    domain.ManifestBlobUnknown: ("MANIFEST_BLOB_UNKNOWN", 400),
    domain.PaginationInvalid: ("PAGINATION_NUMBER_INVALID", 400),
    domain.Unsupported: ("UNSUPPORTED", 405),
    domain.InsufficientScope: ("DENIED", 403),
    domain.Unauthorized: ("UNAUTHORIZED", 401),
    domain.Denied: ("DENIED", 403),
    domain.TagRuleDenied: ("DENIED", 403),
    domain.DeleteRefused: ("DENIED", 403),
    domain.QuotaExceeded: ("DENIED", 403),
    domain.TooManyScopes: ("DENIED", 400),
    domain.TooManyRequests: ("TOOMANYREQUESTS", 429),
}


def _an(cls: type[domain.RegistryError]) -> domain.RegistryError:
    arguments: dict[type[domain.RegistryError], dict[str, Any]] = {
        domain.UploadRangeInvalid: {"offset": 0},
        domain.RangeNotSatisfiable: {"size": 1},
        domain.InsufficientScope: {"scope": "repository:acme/app:pull"},
    }
    extra = arguments.get(cls, {})
    if cls is domain.ManifestBlobUnknown:
        return domain.ManifestBlobUnknown(["sha256:" + "0" * 64])
    return cls(**extra)


def _oci(exc: Exception) -> tuple[int, list[dict[str, Any]]]:
    request = RequestFactory().get("/v2/acme/app/manifests/latest")
    response = oci.exception_handler(exc, {"request": request})
    return response.status_code, response.data["errors"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("cls", OCI_BEFORE, ids=lambda c: c.__name__)
def test_the_oci_codes_and_statuses_stay(cls: type[domain.RegistryError]) -> None:
    status, errors = _oci(_an(cls))
    assert (errors[0]["code"], status) == OCI_BEFORE[cls]


@pytest.mark.parametrize(
    ("exc", "code", "status"),
    [
        (domain.NotFound("no such thing"), "NAME_UNKNOWN", 404),
        (domain.InvalidInput("Choose read, write or admin.", code="role"), "DENIED", 400),
        (domain.Conflict("acme/app already exists.", code="taken"), "DENIED", 409),
        (domain.PermissionRefused("Only the package's admins can do that."), "DENIED", 403),
    ],
    ids=["not-found", "invalid-input", "conflict", "permission-refused"],
)
def test_the_oci_table_answers_the_shared_families(exc: domain.RegistryError, code: str, status: int) -> None:
    got_status, errors = _oci(exc)
    assert (got_status, errors) == (status, [{"code": code, "message": exc.message, "detail": None}])


# --- REST (/api) ---------------------------------------------------------------------------------


NOT_FOUND_BODY = {"message": "Not Found"}


def _rest(exc: Exception) -> tuple[int, Any]:
    response = rest.exception_handler(exc, {})
    assert response is not None
    return response.status_code, response.data


@pytest.mark.parametrize(
    ("exc", "status", "body"),
    [
        (domain.NameUnknown(), 404, {"message": "Not Found"}),
        (domain.ManifestUnknown(), 404, {"message": "Not Found"}),
        (domain.NotFound("acme/secret exists but is private"), 404, {"message": "Not Found"}),
        (domain.InvalidInput("Choose private, internal or public.", code="visibility"), 422,
         {"message": "Choose private, internal or public."}),
        (domain.Conflict("A team “core” already exists.", code="taken"), 409,
         {"message": "A team “core” already exists."}),
        (domain.PermissionRefused("Only the package's admins can change its visibility."), 403,
         {"message": "Only the package's admins can change its visibility."}),
        (domain.PermissionRefused(), 403, {"message": "Forbidden"}),
        (domain.TagRuleDenied("the tag v1 is immutable"), 403, {"message": "the tag v1 is immutable"}),
        (domain.QuotaExceeded(), 403, {"message": "storage quota exceeded"}),
        (domain.DeleteRefused(), 400,
         {"message": "a public package or version with more than 5,000 downloads cannot be deleted"}),
        (domain.NameInvalid(), 400, {"message": "invalid repository name"}),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else None,
)  # fmt: skip
def test_the_rest_table(exc: domain.RegistryError, status: int, body: dict[str, str]) -> None:
    assert _rest(exc) == (status, body)


def test_the_rest_handler_keeps_drfs_own_answers_in_its_body_shape() -> None:

    assert _rest(exceptions.NotFound("Not Found")) == (404, {"message": "Not Found"})
    assert _rest(exceptions.ValidationError("url is required.")) == (400, {"message": "url is required."})
    assert _rest(exceptions.ValidationError({"url": ["required"]}))[1] == {"url": ["required"]}


@pytest.mark.django_db
def test_the_rest_api_answers_a_services_refusal_and_hides_a_private_package(
    client: Client, owner: Any, outsider: Any
) -> None:

    package_for_write(name="acme/app", user=owner)  # private, administered by alice
    base = "/api/orgs/acme/packages/container"

    def call(method: str, path: str, user: Any, **data: Any) -> Any:
        token = make_pat(user, "read:packages", "write:packages")
        extra: dict[str, Any] = {"data": data, "content_type": "application/json"} if data else {}
        return getattr(client, method)(path, HTTP_AUTHORIZATION=f"Bearer {token}", **extra)

    refused = call("put", f"{base}/app/access/users/nobody", owner, role="read")
    assert (refused.status_code, refused.json()) == (422, {"message": "There is no user named “nobody”."})
    private, missing = call("get", f"{base}/app", outsider), call("get", f"{base}/nothing", outsider)
    assert (private.status_code, private.json()) == (missing.status_code, missing.json()) == (404, NOT_FOUND_BODY)


# --- Pages ---------------------------------------------------------------------------------------


def _page_request() -> HttpRequest:
    request = RequestFactory().post("/acme/app/-/settings/access")
    request.user = AnonymousUser()
    request.session = SessionStore()
    request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
    return request


def _middleware() -> page_errors.PageErrorsMiddleware:
    return page_errors.PageErrorsMiddleware(lambda request: HttpResponse())


def test_the_page_middleware_makes_not_found_the_404_and_says_nothing_of_what_exists() -> None:
    with pytest.raises(Http404) as raised:
        _middleware().process_exception(_page_request(), domain.NotFound("acme/secret is private"))
    assert "secret" not in str(raised.value)
    with pytest.raises(Http404):
        _middleware().process_exception(_page_request(), domain.NameUnknown())


def test_the_page_middleware_makes_a_refused_permission_the_403_naming_it() -> None:
    with pytest.raises(PermissionDenied) as raised:
        _middleware().process_exception(_page_request(), domain.PermissionRefused("Only admins can change tag rules."))
    assert str(raised.value) == "Only admins can change tag rules."
    with pytest.raises(PermissionDenied) as bare:
        _middleware().process_exception(_page_request(), domain.PermissionRefused())
    assert str(bare.value) == ""  # the 403 page's own words


def test_the_page_middleware_answers_another_domain_error_with_a_400_page() -> None:
    response = _middleware().process_exception(_page_request(), domain.InvalidInput("Choose immutable or protected."))
    assert response is not None
    assert response.status_code == 400
    assert "Choose immutable or protected." in response.content.decode()


def test_the_page_middleware_leaves_other_exceptions_to_django() -> None:
    assert _middleware().process_exception(_page_request(), ValueError("a bug")) is None


@pytest.mark.parametrize(
    ("exc", "text"),
    [
        (domain.InvalidInput("Choose read, write or admin.", code="role"), "Choose read, write or admin."),
        (domain.Conflict("acme/tools already exists.", code="taken"), "acme/tools already exists."),
        (domain.PermissionRefused("Only admins can change tag rules."), "Only admins can change tag rules."),
        (domain.PermissionRefused(), "Not allowed."),
        (domain.TagRuleDenied("the tag v1 is immutable"), "the tag v1 is immutable"),
    ],
    ids=["invalid", "conflict", "refused", "refused-bare", "denied"],
)  # fmt: skip
def test_as_message_turns_a_refusal_into_an_error_message(exc: domain.RegistryError, text: str) -> None:
    request = _page_request()
    after: list[str] = []
    with page_errors.as_message(request):
        raise exc
    after.append("the view goes on")
    assert [(m.level_tag, m.message) for m in get_messages(request)] == [("error", text)]
    assert after == ["the view goes on"]


def test_as_message_lets_not_found_through() -> None:
    with pytest.raises(domain.NameUnknown), page_errors.as_message(_page_request()):
        raise domain.NameUnknown()


def test_onto_puts_an_invalid_input_on_the_form() -> None:
    form = TeamForm({"name": "core"})
    assert form.is_valid()
    with page_errors.onto(form):
        raise domain.Conflict("A team “core” already exists.", code="taken")
    assert not form.is_valid()
    assert form.non_field_errors() == ["A team “core” already exists."]


def test_onto_puts_a_forms_own_validation_error_on_the_form_too() -> None:

    form = TeamForm({"name": "core"})
    assert form.is_valid()
    with page_errors.onto(form):
        raise ValidationError("Name at least one package.", code="packages")
    assert form.non_field_errors() == ["Name at least one package."]


def _without_csrf(response: Any, name: str) -> str:
    """The page, less its CSRF token (new on every response) and the path it was asked for."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode()).replace(name, "X")


@pytest.mark.django_db
def test_a_private_package_page_is_the_404_of_a_missing_one(client: Client, owner: Any, outsider: Any) -> None:
    Package.objects.create(name="acme/app", namespace="acme", created_by=owner, visibility=Visibility.PRIVATE)
    client.force_login(outsider)
    private = client.get("/acme/app")
    missing = client.get("/acme/nothing")
    assert private.status_code == missing.status_code == 404
    assert _without_csrf(private, "acme/app") == _without_csrf(missing, "acme/nothing")
    for path in ("/acme/app/-/settings", "/acme/app/versions"):
        assert client.get(path).status_code == 404


@pytest.mark.django_db
def test_a_reader_on_a_settings_page_gets_the_403_naming_the_refusal(client: Client, owner: Any, outsider: Any) -> None:
    Package.objects.create(name="acme/app", namespace="acme", created_by=owner, visibility=Visibility.PUBLIC)
    client.force_login(outsider)
    response = client.get("/acme/app/-/settings")
    assert response.status_code == 403
    assert "Only the package&#x27;s admins can change its settings." in response.content.decode()


@pytest.mark.django_db
def test_a_services_refusal_is_an_error_message_on_the_next_page(client: Client, owner: Any) -> None:
    Package.objects.create(name="acme/app", namespace="acme", created_by=owner, visibility=Visibility.PUBLIC)
    client.force_login(owner)
    response = client.post("/acme/app/-/settings/access", {"username": "nobody", "role": "read"}, follow=True)
    assert response.status_code == 200
    assert [m.message for m in response.context["messages"]] == ["There is no user named “nobody”."]


@pytest.mark.django_db
def test_a_services_conflict_is_the_forms_error(client: Client, owner: Any) -> None:
    client.force_login(owner)
    assert client.post("/orgs/acme/teams", {"name": "Core"}).status_code == 302
    again = client.post("/orgs/acme/teams", {"name": "Core"})
    assert again.status_code == 200
    assert again.context["team_form"].non_field_errors() == ["A team “core” already exists."]
