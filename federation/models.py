"""Keyless CI login: issuers an organization trusts, and the short-lived credentials they are exchanged for.

An organization's owner registers a ``TrustedIssuer`` (a CI system's OpenID issuer, the audience its
tokens must carry and a rule on their claims), bound to one source repository or to chosen packages of
the organization, with a role. A CI job sends its OIDC token to ``POST /ci/token`` and gets a
``CIToken`` (``wharf_cit_…``, a ``tokens_app.base.SecretToken`` like personal access tokens) to give
``docker login``.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from packages_app.access import Actor, Reach
from packages_app.models import Role
from tokens_app.base import SecretToken, TokenRejected

SCOPES_FOR_ROLE = {
    Role.READ: frozenset({"read:packages"}),
    Role.WRITE: frozenset({"read:packages", "write:packages"}),
}


class TrustedIssuer(models.Model):
    class Role(models.IntegerChoices):  # the values of packages_app.models.Role
        READ = 1, "Read (pull)"
        WRITE = 2, "Write (pull and push)"

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    issuer = models.URLField(max_length=500)  # the ``iss`` claim, exactly as the CI system writes it
    audience = models.CharField(max_length=255)  # the ``aud`` the CI job requests its token for
    rule = models.CharField(max_length=1000)  # e.g. repository == "acme/api" and ref == "refs/heads/main"
    repository = models.ForeignKey(
        "repositories.SourceRepository", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    packages = models.JSONField(default=list, blank=True)  # full names, when not bound to a repository
    role = models.IntegerField(choices=Role.choices, default=Role.WRITE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="trusted_issuer_unique_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.organization})"


class CIToken(SecretToken):
    """A credential issued for one verified CI token: short-lived, never renewed; any username goes
    with it."""

    PREFIX: ClassVar[str] = "wharf_cit_"
    DIGEST_CONTEXT: ClassVar[str] = "wharf-ci"
    RELATED: ClassVar[tuple[str, ...]] = ("issuer__organization", "issuer__repository")

    issuer = models.ForeignKey(TrustedIssuer, on_delete=models.CASCADE, related_name="tokens")
    subject = models.CharField(max_length=255)  # the CI token's ``sub``, for the audit log
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"CI token {self.prefix} of {self.issuer}"

    @property
    def is_active(self) -> bool:
        return self.expires_at > timezone.now()

    @property
    def label(self) -> str:
        """Who pushed, in the audit log."""
        return f"CI {self.issuer.organization.name}/{self.issuer.name} ({self.subject})"

    def accept(self, username: str | None) -> None:
        if not self.is_active:
            raise TokenRejected("this CI credential has expired; exchange a new CI token at /ci/token")

    def as_actor(self) -> Actor:
        """A repository-bound credential is that repository's automation token with the issuer's role as
        its scopes; a package-bound one holds the role on those packages only."""
        role = Role(self.issuer.role)
        scopes = SCOPES_FOR_ROLE[role]
        if self.issuer.repository_id is not None:
            return Actor(scopes=scopes, repository_id=self.issuer.repository_id, name=self.label)
        return Actor(scopes=scopes, role=role, reach=Reach(packages=frozenset(self.issuer.packages)), name=self.label)
