"""Domain errors. Services raise these for anything a client got wrong, and nothing else (never
``Exception``, never Django's ``ValidationError`` or ``PermissionDenied``). Each surface has one
translator: ``v2api.errors`` maps each class to the OCI error code and HTTP status (distribution-spec,
"Error Codes"), ``api.errors`` to the REST API's status and ``{"message": …}`` body, and
``registry_site.page_errors`` to a page's 404, 403 or error message.

The four families every surface knows: ``NotFound`` (which ``NameUnknown`` and the other OCI "unknown"
errors are), ``InvalidInput`` (with a machine-readable ``code``), ``Conflict`` (an invalid input that
clashes with what exists) and ``PermissionRefused`` (a ``Denied``). ``InvalidInput`` is also a Django
``ValidationError`` and ``PermissionRefused`` a Django ``PermissionDenied``, so a form's ``add_error``
and Django's own 403 take them as they are."""

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


class NameInvalid(RegistryError):
    message = "invalid repository name"


class NameUnknown(NotFound):
    message = "repository name not known to registry"


class TagInvalid(RegistryError):
    message = "manifest tag did not match the tag grammar"


class DigestInvalid(RegistryError):
    message = "provided digest did not match uploaded content"


class DigestUnsupported(DigestInvalid):
    message = "digest algorithm is not supported (use sha256 or sha512)"


class SizeInvalid(RegistryError):
    message = "provided length did not match content length"


class TooLarge(RegistryError):
    message = "content is larger than this registry accepts"


class BlobUnknown(NotFound):
    message = "blob unknown to registry"


class BlobUploadUnknown(NotFound):
    message = "blob upload unknown to registry"


class UploadGone(BlobUploadUnknown):
    """The session's stored bytes are gone (a crash before its file existed, or after they were committed
    elsewhere): the client must start the upload again."""

    message = "the upload's stored data is gone; start the upload again"


class TooManyUploads(RegistryError):
    """The caller already holds ``WHARF_MAX_OPEN_UPLOADS`` open sessions."""

    message = "too many open upload sessions; finish or cancel one first"


class StorageFull(RegistryError):
    """The blob store has no space left: a push fails, nothing half-written stays, pulls still work."""

    message = "the registry's storage is full: this upload was not stored; try again once space is freed"


class BlobUploadInvalid(RegistryError):
    message = "blob upload invalid"


class UploadRangeInvalid(RegistryError):
    """A chunk that does not start where the upload stands (spec: 416 with the current Range)."""

    message = "chunk out of order: it must start at the current end of the upload"

    def __init__(self, message: str | None = None, *, offset: int, location: str = "") -> None:
        super().__init__(message)
        self.offset = offset
        self.location = location


class RangeNotSatisfiable(RegistryError):
    message = "requested range is not satisfiable"

    def __init__(self, message: str | None = None, *, size: int) -> None:
        super().__init__(message)
        self.size = size


class ManifestUnknown(NotFound):
    message = "manifest unknown"


class ManifestInvalid(RegistryError):
    message = "manifest invalid"


class ManifestBlobUnknown(RegistryError):
    """Some digests a manifest references are not in the repository: one OCI error entry per digest."""

    message = "manifest references a blob or manifest unknown to this repository"

    def __init__(self, digests: list[str]) -> None:
        super().__init__(self.message, detail=[{"digest": d} for d in digests])
        self.digests = digests


class PaginationInvalid(RegistryError):
    message = "invalid number of results requested"


class Unsupported(RegistryError):
    message = "the operation is unsupported"


class Unauthorized(RegistryError):
    """Credentials are missing, invalid or insufficient. ``scope`` (space-separated, as in the token
    request) and ``error`` (RFC 6750 §3.1: ``invalid_token`` or ``insufficient_scope``; empty when the
    request carried no token) go into the Bearer challenge."""

    message = "authentication required"

    def __init__(self, message: str | None = None, *, scope: str = "", error: str = "", detail: Any = None) -> None:
        super().__init__(message, detail=detail)
        self.scope = scope
        self.error = error


INVALID_TOKEN = "invalid_token"
INSUFFICIENT_SCOPE = "insufficient_scope"


class InsufficientScope(Unauthorized):
    """A registry token lacks a grant its credentials would get: 403 with a challenge naming the scope
    (RFC 6750 §3.1), so clients that keep their first token (oras-py) fetch a new one on the 403."""

    message = "the registry token does not grant this action; request a new one"

    def __init__(self, message: str | None = None, *, scope: str) -> None:
        super().__init__(message, scope=scope, error=INSUFFICIENT_SCOPE)


class Denied(RegistryError):
    message = "requested access to the resource is denied"


class PermissionRefused(Denied, _DjangoPermissionDenied):
    """The caller is known but their role does not allow this change (e.g. only admins change a
    package's visibility). Where the thing must not even be seen, services raise ``NotFound`` instead.
    Without a message, each surface says its own default (the 403 page's, "Not allowed.", "Forbidden")."""

    message = ""

    def __str__(self) -> str:
        return self.message


class TooManyScopes(RegistryError):
    """A token request asks for more scopes than WHARF_TOKEN_MAX_SCOPES."""

    message = "too many scopes in one token request"


class TooManyRequests(RegistryError):
    """Over a rate limit (``throttling``): answered 429 with ``Retry-After``."""

    message = "too many requests; retry later"

    def __init__(self, message: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(message, detail={"retry_after": retry_after})
        self.retry_after = retry_after


class TagRuleDenied(Denied):
    """A push or delete that an immutable or protected tag rule refuses (``packages_app.tag_rules``)."""

    message = "a tag rule refuses this change"


class DeleteRefused(Denied):
    """A public package or version downloaded more than 5,000 times cannot be deleted (as on ghcr.io)."""

    message = "a public package or version with more than 5,000 downloads cannot be deleted"


class QuotaExceeded(Denied):
    """A push that would take its owner's storage past the quota (``packages_app.quotas``): 403 DENIED,
    naming the quota, before the bytes are stored where their size is known."""

    message = "storage quota exceeded"
