"""The package settings page's shared parts: who may open it (its admins; a 404 to whoever cannot
read the package) and what its access, repository, danger-zone and audit sections show. The views of
its forms (``views``, ``management_views``, ``settings_views``) import this; it imports no view.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest

from . import selectors
from .access import inherits_access
from .exceptions import PermissionRefused
from .models import Package, Role
from .package_settings import retention_rules
from .repository_links import repositories_linkable


def _admin_of(request: HttpRequest, name: str) -> Package:
    """The package for a settings page: 404 to whoever cannot read it, 403 to readers who are not admins."""
    package, role = selectors.package_for_page(name=name, user=request.user)  # NameUnknown: the 404 page
    if role < Role.ADMIN:
        raise PermissionRefused("Only the package's admins can change its settings.")
    return package


def settings_context(package: Package, user: User | None) -> dict[str, Any]:
    """What the access, repository, danger-zone and audit sections of the settings page show."""
    return {
        "access_entries": selectors.package_access(package=package),
        "inherits": inherits_access(package),
        "linkable_repositories": repositories_linkable(package=package, user=user),
        "audit_events": selectors.audit_log(package=package, limit=50),
        "retention_rules": retention_rules(package=package),
        "role_choices": [("read", "Read"), ("write", "Write"), ("admin", "Admin")],
    }
