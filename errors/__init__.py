"""The error vocabulary every app shares (issue 10, "one error vocabulary"). Domain code raises these
(or the registry's own kinds of them, ``packages_app.exceptions``) for anything a client got wrong, and
nothing else (never ``Exception``, never Django's ``ValidationError`` or ``PermissionDenied``). Each
surface has one translator: ``v2api.errors`` (the OCI code and HTTP status, distribution-spec "Error
Codes"), ``api.errors`` (the REST API's status and ``{"message": …}`` body) and ``ui.page_errors``
(a page's 404, 403 or error message).

The families every surface knows: ``NotFound`` (which ``NameUnknown`` and the other OCI "unknown"
errors are), ``InvalidInput`` (with a machine-readable ``code``), ``Conflict`` (an invalid input that
clashes with what exists) and ``PermissionRefused`` (a ``Denied``). ``InvalidInput`` is also a Django
``ValidationError`` and ``PermissionRefused`` a Django ``PermissionDenied``, so a form's ``add_error``
and Django's own 403 take them as they are. A package of its own, below every app: accounts and the
token, webhook and federation apps raise these without depending on the packages app."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as _DjangoPermissionDenied
from django.core.exceptions import ValidationError as _DjangoValidationError


class RegistryError(Exception):
    """Base of every error a client can cause. ``detail`` is sent as the OCI error's ``detail``."""

    message = "registry error"

    def __init__(self, message: str | None = None, *, detail: Any = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.detail = detail


class NotFound(RegistryError):
    """Something the request names does not exist, or the caller may not know that it does: both look
    the same on every surface (a private package is a missing one)."""

    message = "not found"


class InvalidInput(RegistryError, _DjangoValidationError):
    """A value the caller sent that the domain refuses; ``code`` says which rule (e.g. ``"visibility"``,
    ``"unknown_user"``), ``message`` says it to a person."""

    message = "invalid input"

    def __init__(self, message: str | None = None, *, code: str = "invalid", detail: Any = None) -> None:
        super().__init__(message, detail=detail)
        self.code = code

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r})"


class Conflict(InvalidInput):
    """An input that clashes with what exists: a name taken, a member already there."""

    message = "conflicts with an existing one"


class Denied(RegistryError):
    message = "requested access to the resource is denied"


class PermissionRefused(Denied, _DjangoPermissionDenied):
    """The caller is known but their role does not allow this change (e.g. only admins change a
    package's visibility). Where the thing must not even be seen, services raise ``NotFound`` instead.
    Without a message, each surface says its own default (the 403 page's, "Not allowed.", "Forbidden")."""

    message = ""

    def __str__(self) -> str:
        return self.message
