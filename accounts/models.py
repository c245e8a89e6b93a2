"""Organizations, their members (owner or member) and teams. Users are Django's own ``auth.User``;
a user's username is their namespace, and users and organizations share one namespace."""

from __future__ import annotations

from django.conf import settings
from django.db import models

ALL_VISIBILITIES = ["private", "internal", "public"]  # most private first (packages_app.models.Visibility)


def default_member_visibilities() -> list[str]:
    return list(ALL_VISIBILITIES)


class Organization(models.Model):
    name = models.CharField(max_length=39, unique=True)
    description = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="organizations")
    # Package policy (REGISTRY.md "Packages, visibility and access"): the visibilities members (not
    # owners) may give packages, a new one taking the most private of them (none: members cannot
    # create packages); and whether new packages inherit access from a repository they are linked to.
    member_visibilities = models.JSONField(default=default_member_visibilities, blank=True)
    inherit_access_by_default = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MEMBER = "member", "Member"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"


class Team(models.Model):
    """A named group of an organization's members that can be granted access to packages."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="team_unique_slug")]

    def __str__(self) -> str:
        return f"{self.organization.name}/{self.slug}"
