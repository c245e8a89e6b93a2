"""Who may do what to a package: the one place registry authorization is decided.

``v2api`` resolves the caller into an ``Actor`` and asks ``authorize``. Until accounts and tokens
exist, the only actor is anonymous: it may pull public packages, and it may push and delete only when
``WHARF_ANONYMOUS_PUSH`` is set on purpose (an open development registry). A package the actor may
not read is reported exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings

from .exceptions import NameUnknown, Unauthorized
from .models import Package, Visibility


class Action(StrEnum):
    PULL = "pull"
    PUSH = "push"
    DELETE = "delete"


@dataclass(frozen=True)
class Actor:
    user: Any = None  # None: anonymous

    @property
    def is_anonymous(self) -> bool:
        return self.user is None


ANONYMOUS = Actor()


def _open_registry() -> bool:
    return bool(settings.WHARF_ANONYMOUS_PUSH)


def can(actor: Actor, name: str, action: Action) -> bool:
    """Whether ``actor`` may do ``action`` on the package ``name`` (existing or not)."""
    if _open_registry():
        return True
    if action is Action.PULL:
        return Package.objects.filter(name=name, visibility=Visibility.PUBLIC).exists()
    return False


def authorize(actor: Actor, name: str, action: Action) -> None:
    """Raise unless ``actor`` may do ``action`` on ``name``.

    A pull that is not allowed fails as a missing repository (private looks like nonexistent);
    a write asks for credentials.
    """
    if can(actor, name, action):
        return
    if action is Action.PULL:
        raise NameUnknown()
    raise Unauthorized()
