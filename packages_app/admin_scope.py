"""Whose settings an admin page changes: an organization's (``/orgs/<name>/…``) or a package's
(``/<owner>/<name>/-/settings/…``). Outsiders get the 404 of a missing organization or package,
members and readers who are not admins a 403, before any form is read."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.http import HttpRequest
from django.urls import reverse

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.roles import require_person

from . import selectors as package_selectors
from .exceptions import PermissionRefused
from .models import Package, Role


@dataclass(frozen=True)
class Scope:
    """An organization's (``namespace``) or a package's settings; ``page`` names the URL pattern pair
    (``organization-<page>``, ``package-<page>``)."""

    title: str
    namespace: str = ""
    package: Package | None = None
    page: str = "hooks"

    def url(self, item: models.Model | None = None) -> str:
        if self.package is not None:
            base = reverse(f"package-{self.page}", args=[self.package.name])
        else:
            base = reverse(f"organization-{self.page}", args=[self.namespace])
        return f"{base}/{item.pk}" if item is not None else base


def admin_scope(request: HttpRequest, org: str | None, name: str | None, *, what: str, page: str = "hooks") -> Scope:
    if org is not None:
        organization = account_selectors.organization_for_member(name=org, user=request.user)
        if not account_services.is_owner(organization=organization, user=require_person(request.user)):
            raise PermissionRefused(f"Only the organization's owners manage its {what}.")
        return Scope(title=organization.name, namespace=organization.name, page=page)
    package, role = package_selectors.package_for_page(name=name or "", user=request.user)  # NameUnknown: 404
    if role < Role.ADMIN:
        raise PermissionRefused(f"Only the package's admins manage its {what}.")
    return Scope(title=package.name, package=package, page=page)
