"""The REST API's JSON, shaped like GitHub's packages API ("Packages" in its REST reference)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import django_stubs_ext
from django.conf import settings
from django.urls import reverse
from rest_framework import serializers
from rest_framework.request import Request

from packages_app import selectors
from packages_app.models import Manifest, Package, Role, Visibility

# DRF's Serializer takes a type argument at run time too, as its stubs type it (Serializer[T]).
django_stubs_ext.monkeypatch(extra_classes=[serializers.Serializer])


def _absolute(request: Request, path: str) -> str:
    """An absolute URL on WHARF_PUBLIC_URL (the request's Host header never decides it)."""
    return f"{settings.WHARF_PUBLIC_URL}{path}"


class OwnerSerializer(serializers.Serializer[Any]):
    login = serializers.CharField()
    type = serializers.ChoiceField(choices=["User", "Organization"])


class RepositorySerializer(serializers.Serializer[Any]):
    full_name = serializers.CharField()
    html_url = serializers.URLField()


class PackageSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField(help_text="The name below the owner: `app` for `acme/app`.")
    package_type = serializers.CharField(default="container")
    owner = OwnerSerializer()
    version_count = serializers.IntegerField()
    visibility = serializers.ChoiceField(choices=Visibility.values)
    url = serializers.URLField()
    html_url = serializers.URLField()
    repository = RepositorySerializer(allow_null=True)
    inherit_access = serializers.BooleanField()
    readme = serializers.CharField(help_text="The package's README, in markdown (may be empty).")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    deleted_at = serializers.DateTimeField(allow_null=True)


def package_url(request: Request, package: Package, owner_type: str) -> str:
    scope = "orgs" if owner_type == "Organization" else "users"
    return _absolute(request, f"/api/{scope}/{package.namespace}/packages/container/{quote(package.path, safe='')}")


def package_data(request: Request, package: Package, owner_type: str) -> dict[str, Any]:
    repository = package.repository
    return {
        "id": package.id,
        "name": package.path,
        "package_type": "container",
        "owner": {"login": package.namespace, "type": owner_type},
        "version_count": selectors.version_rows(package=package).count(),
        "visibility": package.visibility,
        "url": package_url(request, package, owner_type),
        "html_url": _absolute(request, reverse("package", args=[package.name])),
        "repository": (
            {
                "full_name": repository.full_name,
                "html_url": _absolute(request, reverse("repository", args=[repository.owner, repository.name])),
            }
            if repository
            else None
        ),
        "inherit_access": package.inherit_access,
        "readme": package.readme,
        "created_at": package.created_at,
        "updated_at": package.updated_at,
        "deleted_at": package.deleted_at,
    }


class ContainerMetadataSerializer(serializers.Serializer[Any]):
    tags = serializers.ListField(child=serializers.CharField())


class VersionMetadataSerializer(serializers.Serializer[Any]):
    package_type = serializers.CharField(default="container")
    container = ContainerMetadataSerializer()


class VersionSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField(help_text="The version's manifest digest.")
    url = serializers.URLField()
    package_html_url = serializers.URLField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    deleted_at = serializers.DateTimeField(allow_null=True)
    metadata = VersionMetadataSerializer()


def version_data(request: Request, manifest: Manifest, owner_type: str) -> dict[str, Any]:
    package = manifest.package
    return {
        "id": manifest.id,
        "name": manifest.digest,
        "url": f"{package_url(request, package, owner_type)}/versions/{manifest.id}",
        "package_html_url": _absolute(request, reverse("package", args=[package.name])),
        "created_at": manifest.created_at,
        "updated_at": manifest.deleted_at or manifest.created_at,
        "deleted_at": manifest.deleted_at,
        "metadata": {"package_type": "container", "container": {"tags": selectors.version_tags(manifest)}},
    }


class VisibilityChangeSerializer(serializers.Serializer[Any]):
    """A PATCH of a package: its visibility, its README (markdown), or both."""

    visibility = serializers.ChoiceField(choices=Visibility.values, required=False)
    readme = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, help_text="Markdown; an empty text removes it."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Give visibility, readme or both.")
        return attrs


ROLE_NAMES = {Role.READ: "read", Role.WRITE: "write", Role.ADMIN: "admin"}


class AccessEntrySerializer(serializers.Serializer[Any]):
    type = serializers.ChoiceField(choices=["user", "team"])
    name = serializers.CharField()
    role = serializers.ChoiceField(choices=list(ROLE_NAMES.values()))
    source = serializers.ChoiceField(choices=["package", "repository"])  # type: ignore[assignment]


class AccessSerializer(serializers.Serializer[Any]):
    inherits_from_repository = serializers.BooleanField()
    grants = AccessEntrySerializer(many=True)


class RoleSerializer(serializers.Serializer[Any]):
    role = serializers.ChoiceField(choices=list(ROLE_NAMES.values()))


class MessageSerializer(serializers.Serializer[Any]):
    message = serializers.CharField()


class ReachSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=["all", "packages", "organization"])
    packages = serializers.ListField(child=serializers.CharField(), required=False)
    organization = serializers.CharField(required=False)


class TokenSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    note = serializers.CharField()
    prefix = serializers.CharField(help_text="The start of the token: `wharf_pat_<prefix>…`.")
    scopes = serializers.ListField(child=serializers.CharField())
    reach = ReachSerializer()
    active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
