"""The home page and an owner's page: packages the viewer may read (REGISTRY.md "Package pages")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model

from accounts.models import Organization
from accounts.roles import Viewer
from accounts.roles import person as signed_in
from accounts.selectors import is_member, organizations_of

from ..exceptions import NameUnknown
from ..models import Package
from ..selectors import _readable, public_packages


@dataclass(frozen=True)
class HomePage:
    public: list[Package]
    mine: list[Package]
    organizations: list[Any]
    query: str


def home_page(*, user: Viewer | None, query: str = "") -> HomePage:
    """Public packages (searchable by name) and, for a signed-in person, their own and their organizations'."""
    person = signed_in(user)
    if person is None:
        return HomePage(public_packages(query=query), [], [], query)
    organizations = list(organizations_of(user=person))
    namespaces = [person.username, *(o.name for o in organizations)]
    candidates = Package.objects.filter(namespace__in=namespaces).order_by("-updated_at", "name")[:200]
    return HomePage(public_packages(query=query), _readable(person, candidates)[:20], organizations, query)


@dataclass(frozen=True)
class OwnerPage:
    name: str
    organization: Any  # accounts.Organization, or None for a user (or a namespace with no account)
    is_member: bool
    packages: list[Package]
    query: str


def owner_page(*, owner: str, user: Viewer | None, query: str = "") -> OwnerPage:
    """A user's or organization's packages that the viewer may read. NameUnknown when there is no such
    account and the viewer can read nothing there (so private packages do not reveal a namespace)."""
    organization = Organization.objects.filter(name=owner).first()
    exists = organization is not None or get_user_model().objects.filter(username=owner).exists()
    candidates = Package.objects.filter(namespace=owner).order_by("-updated_at", "name")
    packages = _readable(user, candidates)
    if not exists and not packages:
        raise NameUnknown()
    if query:
        packages = [p for p in packages if query.lower() in p.name.lower()]
    viewer = signed_in(user)
    member = organization is not None and viewer is not None and is_member(organization=organization, user=viewer)
    return OwnerPage(owner, organization, member, packages, query)
