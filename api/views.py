"""The REST API for packages, modelled on GitHub's (``/user/packages``, ``/users/{u}/packages``,
``/orgs/{o}/packages``, ``…/packages/container/{name}[/versions[/{id}]][/restore]``), plus visibility
and access, which ghcr.io only offers on its pages. Authenticated with a personal access token.

Each view reads the request, calls one selector or service of ``packages_app`` and serializes. A
package the caller cannot read, a deleted one and another package's version id all answer the same
404 as a missing one (REGISTRY.md "Packages, visibility and access").
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Organization
from accounts.roles import require_person
from packages_app import selectors
from packages_app.access import Actor, inherits_access
from packages_app.models import Package, Role, Visibility
from packages_app.names import parse_count
from packages_app.package_settings import package_set_readme
from packages_app.services.grants import access_grant, access_revoke
from packages_app.services.packages import package_delete, package_restore, package_set_visibility
from packages_app.services.versions import version_delete, version_restore

from . import errors
from . import serializers as s
from .authentication import PersonalAccessTokenAuthentication
from .errors import NOT_FOUND
from .openapi import extend_schema

# Far past any package's last page of versions, and far inside the database's offset range.
MAX_PAGE = 1_000_000
READ, WRITE, DELETE = "read:packages", "write:packages", "delete:packages"


class ApiView(APIView):
    authentication_classes = [PersonalAccessTokenAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]

    def get_exception_handler(self) -> Any:
        return errors.exception_handler

    def actor(self, request: Request, scope: str) -> Actor:
        """The caller, if their token has ``scope`` (checked before any package is looked at)."""
        actor = cast(Actor, request.auth)
        if actor.scopes is not None and scope not in actor.scopes:
            raise exceptions.PermissionDenied(f"The token lacks the {scope} scope.")
        return actor


def _owner(request: Request, kind: str, owner: str | None) -> tuple[str, str]:
    """The namespace a route names and its type (User or Organization); 404 when it is not one."""
    if kind == "user":
        return request.user.username, "User"
    if kind == "orgs" and owner and Organization.objects.filter(name=owner).exists():
        return owner, "Organization"
    if kind == "users" and owner and get_user_model().objects.filter(username=owner).exists():
        return owner, "User"
    raise exceptions.NotFound(NOT_FOUND)


def _reaches(request: Request, package: Package) -> bool:
    """Whether the caller's token reaches ``package``: a fine-grained token its chosen packages (or
    organization), and public ones for reading; outside its reach a package answers 404 as a missing one."""
    reach = cast(Actor, request.auth).reach
    if reach is None or reach.covers(package.name):
        return True
    return request.method in SAFE_METHODS and package.visibility == Visibility.PUBLIC


def _package(request: Request, kind: str, owner: str | None, package_name: str) -> tuple[Package, Role, str]:
    namespace, owner_type = _owner(request, kind, owner)
    package, role = selectors.package_readable(name=f"{namespace}/{package_name}", user=request.user)
    if not _reaches(request, package):
        raise exceptions.NotFound(NOT_FOUND)
    return package, role, owner_type


VISIBILITY = OpenApiParameter("visibility", str, enum=Visibility.values, required=False)
PACKAGE_TYPE = OpenApiParameter("package_type", str, enum=["container"], required=False)
STATE = OpenApiParameter("state", str, enum=["active", "deleted"], required=False)
ERRORS = {401: s.MessageSerializer, 403: s.MessageSerializer, 404: s.MessageSerializer}


class PackageList(ApiView):
    @extend_schema(parameters=[PACKAGE_TYPE, VISIBILITY], responses={200: s.PackageSerializer(many=True), **ERRORS})
    def get(self, request: Request, kind: str, owner: str | None = None) -> Response:
        """List the packages of the caller, of a user or of an organization that the caller can read."""
        self.actor(request, READ)
        namespace, owner_type = _owner(request, kind, owner)
        if request.query_params.get("package_type", "container") != "container":
            return Response([])
        visibility = request.query_params.get("visibility", "")
        if visibility and visibility not in Visibility.values:
            raise exceptions.ValidationError("visibility must be private, internal or public.")
        packages = selectors.packages_readable(namespaces=[namespace], user=request.user, visibility=visibility)
        return Response([s.package_data(request, p, owner_type) for p in packages if _reaches(request, p)])


class PackageDetail(ApiView):
    @extend_schema(responses={200: s.PackageSerializer, **ERRORS})
    def get(self, request: Request, kind: str, package_name: str, owner: str | None = None) -> Response:
        """Get a package."""
        self.actor(request, READ)
        package, _, owner_type = _package(request, kind, owner, package_name)
        return Response(s.package_data(request, package, owner_type))

    @extend_schema(
        request=s.VisibilityChangeSerializer, responses={200: s.PackageSerializer, 422: s.MessageSerializer, **ERRORS}
    )
    def patch(self, request: Request, kind: str, package_name: str, owner: str | None = None) -> Response:
        """Change a package's visibility (admins; a public package cannot be made private again) and/or its
        README (markdown, rendered sanitized on the package page)."""
        self.actor(request, WRITE)
        package, _, owner_type = _package(request, kind, owner, package_name)
        body = s.VisibilityChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if "visibility" in data:
            package_set_visibility(package=package, user=require_person(request.user), visibility=data["visibility"])
        if "readme" in data:
            package_set_readme(package=package, user=require_person(request.user), readme=data["readme"])
        return Response(s.package_data(request, package, owner_type))

    @extend_schema(responses={204: None, 400: s.MessageSerializer, **ERRORS})
    def delete(self, request: Request, kind: str, package_name: str, owner: str | None = None) -> Response:
        """Delete a whole package (admins with delete:packages); restorable for WHARF_DELETED_RETENTION_DAYS."""
        actor = self.actor(request, DELETE)
        package, _, _ = _package(request, kind, owner, package_name)
        package_delete(package=package, actor=actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PackageRestore(ApiView):
    @extend_schema(request=None, responses={204: None, 422: s.MessageSerializer, **ERRORS})
    def post(self, request: Request, kind: str, package_name: str, owner: str | None = None) -> Response:
        """Restore a package deleted within WHARF_DELETED_RETENTION_DAYS, unless its name was used again since."""
        actor = self.actor(request, DELETE)
        namespace, _ = _owner(request, kind, owner)
        package = selectors.package_deleted(name=f"{namespace}/{package_name}", user=request.user)
        if not _reaches(request, package):
            raise exceptions.NotFound(NOT_FOUND)
        package_restore(package=package, actor=actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class VersionList(ApiView):
    @extend_schema(
        parameters=[
            STATE,
            OpenApiParameter("page", int, required=False),
            OpenApiParameter("per_page", int, required=False),
        ],
        responses={200: s.VersionSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, kind: str, package_name: str, owner: str | None = None) -> Response:
        """List a package's versions: ``state=active`` (default) or ``deleted`` (restorable; admins)."""
        self.actor(request, READ)
        package, role, owner_type = _package(request, kind, owner, package_name)
        state = request.query_params.get("state", "active")
        if state not in {"active", "deleted"}:
            raise exceptions.ValidationError("state must be active or deleted.")
        if state == "deleted" and role < Role.ADMIN:
            raise exceptions.PermissionDenied("Only the package's admins see its deleted versions.")
        page, per_page = _page_numbers(request)
        rows = selectors.version_rows(package=package, state=state)[(page - 1) * per_page : page * per_page]
        return Response([s.version_data(request, m, owner_type) for m in rows])


def _page_numbers(request: Request) -> tuple[int, int]:
    return _number(request, "page", 1, MAX_PAGE), _number(request, "per_page", 30, 100)


def _number(request: Request, name: str, default: int, maximum: int) -> int:
    """A page parameter in ASCII digits from 1 to ``maximum``: a larger one would overflow the
    database's offset, so it is refused before any query."""
    value = request.query_params.get(name)
    if value is None:
        return default
    number = parse_count(value, maximum=maximum + 1)
    if number is None or not 1 <= number <= maximum:
        raise exceptions.ValidationError(f"{name} must be a whole number from 1 to {maximum}.")
    return number


class VersionDetail(ApiView):
    @extend_schema(responses={200: s.VersionSerializer, **ERRORS})
    def get(
        self, request: Request, kind: str, package_name: str, version_id: int, owner: str | None = None
    ) -> Response:
        """Get a version (one manifest digest), with its tags in ``metadata.container.tags``."""
        self.actor(request, READ)
        package, role, owner_type = _package(request, kind, owner, package_name)
        manifest = selectors.version_get(package=package, version_id=version_id)
        if manifest.deleted_at is not None and role < Role.ADMIN:
            raise exceptions.NotFound(NOT_FOUND)
        return Response(s.version_data(request, manifest, owner_type))

    @extend_schema(responses={204: None, 400: s.MessageSerializer, **ERRORS})
    def delete(
        self, request: Request, kind: str, package_name: str, version_id: int, owner: str | None = None
    ) -> Response:
        """Delete a version and its tags (admins, delete:packages); restorable for WHARF_DELETED_RETENTION_DAYS."""
        actor = self.actor(request, DELETE)
        package, _, _ = _package(request, kind, owner, package_name)
        manifest = selectors.version_get(package=package, version_id=version_id)
        if manifest.deleted_at is not None:
            raise exceptions.NotFound(NOT_FOUND)
        version_delete(manifest=manifest, actor=actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class VersionRestore(ApiView):
    @extend_schema(request=None, responses={204: None, 422: s.MessageSerializer, **ERRORS})
    def post(
        self, request: Request, kind: str, package_name: str, version_id: int, owner: str | None = None
    ) -> Response:
        """Restore a version deleted within WHARF_DELETED_RETENTION_DAYS, with its tags."""
        actor = self.actor(request, DELETE)
        package, _, _ = _package(request, kind, owner, package_name)
        version_restore(manifest=selectors.version_get(package=package, version_id=version_id), actor=actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _access(package: Package) -> dict[str, Any]:
    grants = selectors.package_access(package=package)
    entries = [{"type": e.kind, "name": e.name, "role": s.ROLE_NAMES[e.role], "source": e.source} for e in grants]
    return {
        "inherits_from_repository": any(e.source == "repository" for e in grants) or _inherits(package),
        "grants": entries,
    }


def _inherits(package: Package) -> bool:

    return inherits_access(package)


class AccessList(ApiView):
    @extend_schema(responses={200: s.AccessSerializer, **ERRORS})
    def get(self, request: Request, kind: str, package_name: str, owner: str | None = None) -> Response:
        """Who has access to a package by grant (its own list, or its repository's while it inherits). Admins."""
        self.actor(request, READ)
        package, role, _ = _package(request, kind, owner, package_name)
        if role < Role.ADMIN:
            raise exceptions.PermissionDenied("Only the package's admins see who has access.")
        return Response(_access(package))


class AccessGrant(ApiView):
    """Give a user or a team (``grantee_type``: ``users`` or ``teams``) a role, or take it away."""

    @extend_schema(request=s.RoleSerializer, responses={200: s.AccessSerializer, 422: s.MessageSerializer, **ERRORS})
    def put(
        self, request: Request, kind: str, package_name: str, grantee_type: str, grantee: str, owner: str | None = None
    ) -> Response:
        self.actor(request, WRITE)
        package, _, _ = _package(request, kind, owner, package_name)
        body = s.RoleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        access_grant(
            package=package,
            user=require_person(request.user),
            role=body.validated_data["role"],
            **_who(grantee_type, grantee),
        )
        return Response(_access(package))

    @extend_schema(responses={200: s.AccessSerializer, 422: s.MessageSerializer, **ERRORS})
    def delete(
        self, request: Request, kind: str, package_name: str, grantee_type: str, grantee: str, owner: str | None = None
    ) -> Response:
        self.actor(request, WRITE)
        package, _, _ = _package(request, kind, owner, package_name)
        access_revoke(package=package, user=require_person(request.user), **_who(grantee_type, grantee))
        return Response(_access(package))


def _who(grantee_type: str, grantee: str) -> dict[str, str]:
    return {"team": grantee} if grantee_type == "teams" else {"username": grantee}
