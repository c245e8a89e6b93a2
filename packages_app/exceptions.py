"""The registry's domain errors: the shared families (``errors``: ``RegistryError``, ``NotFound``,
``InvalidInput``, ``Conflict``, ``Denied``, ``PermissionRefused``, re-exported here) and the registry's
own kinds of them, one class per OCI error the distribution-spec names ("Error Codes"), which
``v2api.errors`` maps to the code and status. Never ``Exception``."""

from __future__ import annotations

from typing import Any

from errors import Conflict as Conflict
from errors import Denied as Denied
from errors import InvalidInput as InvalidInput
from errors import NotFound as NotFound
from errors import PermissionRefused as PermissionRefused
from errors import RegistryError as RegistryError


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


INVALID_TOKEN = "invalid_token"  # noqa: S105 - an RFC 6750 error code, not a secret
INSUFFICIENT_SCOPE = "insufficient_scope"


class InsufficientScope(Unauthorized):
    """A registry token lacks a grant its credentials would get: 403 with a challenge naming the scope
    (RFC 6750 §3.1), so clients that keep their first token (oras-py) fetch a new one on the 403."""

    message = "the registry token does not grant this action; request a new one"

    def __init__(self, message: str | None = None, *, scope: str) -> None:
        super().__init__(message, scope=scope, error=INSUFFICIENT_SCOPE)


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
