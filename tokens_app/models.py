"""Personal access tokens, repository automation tokens and the installation's registry-token signing
keys.

A token is shown once. We keep a short lookup ``prefix`` (to find the row without scanning) and an
HMAC-SHA256 of the whole token, compared in constant time; the token itself is never stored
(``tokens_app.base``, shared with ``federation``'s CI credentials).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from packages_app.access import Actor, Reach

from .base import RevocableToken, TokenRejected

AUTOMATION_SCOPES = frozenset({"read:packages", "write:packages"})


class Scope(models.TextChoices):
    READ = "read:packages", "read:packages — pull images and read package metadata"
    WRITE = "write:packages", "write:packages — push images (includes read)"
    DELETE = "delete:packages", "delete:packages — delete package versions (needs admin on the package)"


class PersonalAccessToken(RevocableToken):
    PREFIX: ClassVar[str] = "wharf_pat_"
    DIGEST_CONTEXT: ClassVar[str] = "wharf-pat"
    RELATED: ClassVar[tuple[str, ...]] = ("user", "organization")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_tokens")
    note = models.CharField(max_length=100)
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Fine-grained tokens reach only these packages (full names), or only this organization's packages;
    # neither: every package the user's roles allow.
    packages = models.JSONField(default=list, blank=True)
    organization = models.ForeignKey(
        "accounts.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.note} ({self.user})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    def accept(self, username: str | None) -> None:
        """Only its own user's, active, neither revoked nor expired (``username`` None: the token alone
        names its user, as ``Authorization: Bearer`` on the REST API)."""
        if (username is not None and self.user.username != username.lower()) or not self.user.is_active:
            raise TokenRejected("invalid username or token")
        if self.revoked_at is not None:
            raise TokenRejected("this personal access token was revoked")
        if self.is_expired:
            raise TokenRejected("this personal access token has expired")
        self.touch()

    def reach(self) -> Reach | None:
        """The limit ``packages_app.access`` applies to requests made with the token (None: no limit)."""
        if self.packages:
            return Reach(packages=frozenset(self.packages))
        if self.organization is not None:
            return Reach(namespace=self.organization.name)
        return None

    def as_actor(self) -> Actor:
        return Actor(user=self.user, scopes=frozenset(self.scopes), reach=self.reach())


class SigningKey(models.Model):
    """A key registry bearer tokens are signed with (``tokens_app.registry_tokens``): an ES256 (P-256)
    private key, generated on first use per installation and shared by every node through the database.
    ``kid`` is its RFC 7638 thumbprint. A rotation retires the signer (``retired_at``): a retired key
    still verifies the tokens it signed until they expire, then ``manage.py rotate_registry_key`` drops
    it. Rows with only a ``secret`` are the HS256 keys of earlier versions, no longer used."""

    secret = models.CharField(max_length=128, blank=True, default="")  # earlier versions' HS256 key
    kid = models.CharField(max_length=64, blank=True, default="")
    private_key = models.TextField(blank=True, default="")  # PKCS#8 PEM
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:  # never the key itself
        return f"signing key {self.kid or self.pk}" + (" (retired)" if self.retired_at else "")


class AutomationToken(RevocableToken):
    """A short-lived token issued for one source repository (the analogue of GitHub Actions'
    ``GITHUB_TOKEN``): it pushes and pulls the packages linked to that repository and creates new ones
    in the repository owner's namespace, linked to it. Stored like a personal access token; any
    username goes with it."""

    PREFIX: ClassVar[str] = "wharf_ats_"
    DIGEST_CONTEXT: ClassVar[str] = "wharf-pat"  # as personal access tokens: the stored digests stay valid
    RELATED: ClassVar[tuple[str, ...]] = ("repository",)

    repository = models.ForeignKey(
        "repositories.SourceRepository", on_delete=models.CASCADE, related_name="automation_tokens"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"automation token {self.prefix} of {self.repository_id}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()

    def accept(self, username: str | None) -> None:
        if self.revoked_at is not None:
            raise TokenRejected("this automation token was revoked")
        if not self.is_active:
            raise TokenRejected("this automation token has expired")
        self.touch()

    def as_actor(self) -> Actor:
        """It reads and writes what its repository's packages allow (``packages_app.access``), never deletes."""
        return Actor(scopes=AUTOMATION_SCOPES, repository_id=self.repository_id)
