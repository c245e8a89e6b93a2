"""Fine-grained personal access tokens: what a token may reach, chosen when it is created.

A token reaches every package its user's roles allow, or only chosen packages, or only the packages of
one organization the user belongs to; its scopes apply as ever. ``packages_app.access`` enforces the
limit for ``/token``, Basic auth and bearer tokens alike (``Actor.reach``, from
``PersonalAccessToken.reach``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User

from accounts.models import Organization
from errors import InvalidInput
from packages_app.access import can_create, package_role
from packages_app.exceptions import NameInvalid
from packages_app.models import Package
from packages_app.names import parse_name

from .models import PersonalAccessToken

MAX_PACKAGES = 50


def split_names(text: str) -> list[str]:
    """Package names typed one per line, or separated by commas or spaces."""
    return [part for part in re.split(r"[\s,]+", text.strip().lower()) if part]


def clean_packages(*, user: User, names: Iterable[str]) -> list[str]:
    """The chosen package names, each one the user may read now or create; the same refusal for a
    package that exists but is hidden from them as for one that does not exist."""
    chosen = sorted(set(names))
    if len(chosen) > MAX_PACKAGES:
        raise InvalidInput(f"Choose at most {MAX_PACKAGES} packages.", code="packages")
    for name in chosen:
        if not _reachable(user, name):
            raise InvalidInput(f"You have no package named {name!r}, and cannot create one.", code="packages")
    return chosen


def _reachable(user: User, name: str) -> bool:
    try:
        parse_name(name)
    except NameInvalid:
        return False
    package = Package.objects.filter(name=name).first()
    if package is None:
        return can_create(user, name.split("/", 1)[0])
    return package_role(user, package) is not None


def clean_organization(*, user: User, name: str) -> Organization:
    """The organization a token is limited to: one the user is a member of."""
    organization = user.organizations.filter(name=name.strip().lower()).first()
    if organization is None:
        raise InvalidInput(f"You are not a member of an organization named {name!r}.", code="organization")
    return organization


def reach_data(token: PersonalAccessToken) -> dict[str, Any]:
    """What the token page and the REST API say a token reaches."""
    if token.packages:
        return {"kind": "packages", "packages": list(token.packages)}
    if token.organization is not None:
        return {"kind": "organization", "organization": token.organization.name}
    return {"kind": "all"}
