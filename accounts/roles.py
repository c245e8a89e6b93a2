"""The role names every app shares, and the one role accounts decide by themselves.

``Role`` (read < write < admin) is what a package grant, a repository collaborator and a namespace's
admins hold; it lives here, below the apps that use it (``packages_app``, ``repositories``,
``tokens_app``), so none of them imports another for it. ``namespace_role`` is the role over a whole
namespace: admin of one's own and of the organizations one owns. A person is Django's ``User``;
``None`` is a visitor (``person(request.user)`` turns a request's user into one or the other).
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db import models

from errors import InvalidInput, PermissionRefused

from .models import Membership

Viewer = User | AnonymousUser  # whoever a request comes from


class Role(models.IntegerChoices):
    """Roles on a package or a repository, in increasing order: each includes the ones before it."""

    READ = 1, "Read"
    WRITE = 2, "Write"
    ADMIN = 3, "Admin"


_NAMES = {"read": Role.READ, "write": Role.WRITE, "admin": Role.ADMIN}


def role_named(value: str | int) -> Role:
    """A role from what a form or the REST API sent: ``read``/``write``/``admin`` or its number."""
    if isinstance(value, str) and value.lower() in _NAMES:
        return _NAMES[value.lower()]
    if isinstance(value, int) and value in Role.values:
        return Role(value)
    raise InvalidInput("Choose read, write or admin.", code="role")


def person(user: Viewer | None) -> User | None:
    """The signed-in user, or None for a visitor."""
    return user if isinstance(user, User) and user.is_authenticated else None


def require_person(user: Viewer | None) -> User:
    """The signed-in user behind a page or an API call that needs one (PermissionRefused otherwise)."""
    found = person(user)
    if found is None:
        raise PermissionRefused("Sign in first.")
    return found


def namespace_role(viewer: Viewer | None, namespace: str) -> Role | None:
    """The role a user holds over a whole namespace: admin of their own and of organizations they own."""
    user = person(viewer)
    if user is None:
        return None
    if user.username == namespace:
        return Role.ADMIN
    membership = Membership.objects.filter(organization__name=namespace, user=user).first()
    if membership is None:
        return None
    return Role.ADMIN if membership.role == Membership.Role.OWNER else None
