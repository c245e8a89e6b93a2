"""What every secret token Wharf issues has in common: personal access tokens (``wharf_pat_…``),
repository automation tokens (``wharf_ats_…``) and CI credentials (``wharf_cit_…``, ``federation``).

A token is ``PREFIX`` + a 12-character lookup (stored as ``prefix``, unique, so one indexed query finds
the row) + a random secret. Only an HMAC-SHA256 of the whole token is stored (``digest``, keyed with
``SECRET_KEY``), compared with ``hmac.compare_digest``; a lookup that finds nothing is compared against a
dummy digest, so a missing token costs what a wrong one does. The plaintext is returned once, by
``issue``, and never stored. ``tokens_app.credentials`` turns a raw credential into an ``Actor``
through the models that derive from ``SecretToken``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any, ClassVar, Self

from django.conf import settings
from django.db import models
from django.utils import timezone

from packages_app.access import Actor

LOOKUP_LENGTH = 12
SECRET_BYTES = 32
NO_SUCH_TOKEN = "no such token"  # noqa: S105 - an error message, not a secret


class TokenRejected(Exception):
    """Credentials that are not an active token (of that user). ``reason`` is safe to show the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SecretToken(models.Model):
    """The abstract base of every secret token model: its columns, ``issue`` and ``authenticate``."""

    PREFIX: ClassVar[str]
    DIGEST_CONTEXT: ClassVar[str]  # the HMAC key's label: changing it invalidates every stored token
    RELATED: ClassVar[tuple[str, ...]] = ()  # loaded with the row by ``authenticate``

    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    @classmethod
    def digest_of(cls, plaintext: str) -> str:
        key = f"{cls.DIGEST_CONTEXT}:{settings.SECRET_KEY}".encode()
        return hmac.new(key, plaintext.encode(), hashlib.sha256).hexdigest()

    @classmethod
    def owns(cls, raw: str) -> bool:
        """Whether ``raw`` has this kind's prefix (it may still be wrong)."""
        return raw.startswith(cls.PREFIX)

    @classmethod
    def issue(cls, **fields: Any) -> tuple[Self, str]:
        """A new token with ``fields``, and its plaintext (shown once, never stored)."""
        lookup = secrets.token_hex(LOOKUP_LENGTH // 2)
        plaintext = f"{cls.PREFIX}{lookup}{secrets.token_urlsafe(SECRET_BYTES)}"
        token = cls._default_manager.create(prefix=lookup, digest=cls.digest_of(plaintext), **fields)
        return token, plaintext

    @classmethod
    def authenticate(cls, raw: str, username: str | None = None) -> Self:
        """The usable token ``raw`` (of user ``username``, where the kind has a user and one is given):
        one query, a constant-time comparison, then the kind's own checks (``accept``)."""
        lookup = raw[len(cls.PREFIX) : len(cls.PREFIX) + LOOKUP_LENGTH]
        token = cls._default_manager.select_related(*cls.RELATED).filter(prefix=lookup).first()
        expected = token.digest if token else cls.digest_of(NO_SUCH_TOKEN)
        if not hmac.compare_digest(expected, cls.digest_of(raw)) or token is None:
            raise TokenRejected("invalid username or token")
        token.accept(username)
        return token

    def accept(self, username: str | None) -> None:
        """Refuse (TokenRejected) a token that may not be used now; record its use."""
        raise NotImplementedError

    def as_actor(self) -> Actor:
        """Who calls with this token (``packages_app.access`` decides what they may do)."""
        raise NotImplementedError


class RevocableToken(SecretToken):
    """A token its owner can revoke, whose last use is recorded (at most once a minute)."""

    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def touch(self) -> None:
        now = timezone.now()
        if self.last_used_at is None or (now - self.last_used_at).total_seconds() > 60:
            type(self)._default_manager.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now
