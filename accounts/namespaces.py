"""The namespace rules shared by usernames and organization names.

A namespace is the first path component of every image name (``HOST/OWNER/NAME``), so it must be a
valid registry name component and lowercase; we take GitHub's stricter shape (letters, digits and
single hyphens, at most 39 characters). Names the site itself uses are reserved.
"""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model

from errors import Conflict, InvalidInput

from .models import Organization

NAMESPACE_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_LENGTH = 39
RESERVED = frozenset(
    {
        "v2", "token", "api", "settings", "static", "media", "admin", "login", "logout", "signup",
        "accounts", "account", "orgs", "organizations", "users", "packages", "package", "help",
        "about", "docs", "new", "explore", "search", "assets", "health", "status", "www", "root", "repos",
        "metrics",
    }
)  # fmt: skip


def validate_namespace_syntax(name: str) -> None:
    if name != name.lower():
        raise InvalidInput("Use lowercase letters only: image names are lowercase.", code="uppercase")
    if len(name) > MAX_LENGTH or not NAMESPACE_RE.fullmatch(name):
        raise InvalidInput(
            "Use lowercase letters, digits and single hyphens (not at the start or end), at most 39 characters.",
            code="invalid",
        )
    if name in RESERVED:
        raise InvalidInput(f"“{name}” is reserved by the site.", code="reserved")


def namespace_taken(name: str) -> bool:

    user_model = get_user_model()
    return (
        user_model.objects.filter(username__iexact=name).exists()
        or Organization.objects.filter(name__iexact=name).exists()
    )


def validate_new_namespace(name: str) -> None:
    """A name for a new user or organization: valid, not reserved, not used by either."""
    validate_namespace_syntax(name)
    if namespace_taken(name):
        raise Conflict(f"“{name}” is already taken.", code="taken")
