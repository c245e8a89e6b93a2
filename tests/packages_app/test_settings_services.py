from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from packages_app.models import Package, Visibility
from packages_app.services.packages import package_set_visibility


@pytest.fixture
def package(owner: Any) -> Package:
    return Package.objects.create(name="acme/app", namespace="acme", created_by=owner)


def test_an_admin_makes_a_package_public(package: Package, owner: Any) -> None:
    package_set_visibility(package=package, user=owner, visibility="public")
    assert Package.objects.get(id=package.id).visibility == Visibility.PUBLIC


def test_a_public_package_cannot_go_back_to_private(package: Package, owner: Any) -> None:
    package_set_visibility(package=package, user=owner, visibility="public")
    for visibility in ("private", "internal"):
        with pytest.raises(ValidationError):
            package_set_visibility(package=package, user=owner, visibility=visibility)
    assert Package.objects.get(id=package.id).visibility == Visibility.PUBLIC


def test_only_admins_change_visibility(package: Package, member: Any, outsider: Any) -> None:
    for user in (member, outsider, None):
        with pytest.raises(PermissionDenied):
            package_set_visibility(package=package, user=user, visibility="public")
    assert Package.objects.get(id=package.id).visibility == Visibility.PRIVATE


def test_unknown_visibilities_are_refused(package: Package, owner: Any) -> None:
    with pytest.raises(ValidationError):
        package_set_visibility(package=package, user=owner, visibility="secret")
