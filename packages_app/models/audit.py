"""The audit log: who did what to which package or organization, and when."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts import signals as organization_signals

from .registry import Package


class AuditEvent(models.Model):
    """Who did what to a package, and when (pushes, deletes, restores, visibility and access changes)."""

    class Action(models.TextChoices):
        PUSH = "push", "Pushed"
        DELETE_VERSION = "version.delete", "Deleted a version"
        RESTORE_VERSION = "version.restore", "Restored a version"
        DELETE_TAG = "tag.delete", "Deleted a tag"
        DELETE_PACKAGE = "package.delete", "Deleted the package"
        RESTORE_PACKAGE = "package.restore", "Restored the package"
        VISIBILITY = "visibility", "Changed visibility"
        ACCESS = "access", "Changed access"
        LINK = "repository", "Changed the repository link"
        TAG_RULE = "tag_rule", "Changed the tag rules"
        README = "readme", "Changed the README"
        RETENTION = "retention", "Changed a retention rule"
        # an organization's own events (no package): accounts announces them (accounts.signals)
        MEMBER_ADD = organization_signals.MEMBER_ADD, "Added a member"
        MEMBER_ROLE = organization_signals.MEMBER_ROLE, "Changed a member's role"
        MEMBER_REMOVE = organization_signals.MEMBER_REMOVE, "Removed a member"
        TEAM_CREATE = organization_signals.TEAM_CREATE, "Created a team"
        TEAM_MEMBER_ADD = organization_signals.TEAM_MEMBER_ADD, "Added a team member"
        TEAM_MEMBER_REMOVE = organization_signals.TEAM_MEMBER_REMOVE, "Removed a team member"
        CI_LOGIN = "ci.login", "CI login"  # a CI job's OIDC token exchanged (federation)
        CI_REFUSED = "ci.refused", "CI login refused"

    package = models.ForeignKey(Package, null=True, on_delete=models.SET_NULL, related_name="audit_events")
    namespace = models.CharField(max_length=255, db_index=True)  # kept for the organization's log
    package_name = models.CharField(max_length=255, blank=True)  # empty for an organization's own events
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.CharField(max_length=255)  # "alice", "automation token of acme/api", "anonymous"
    action = models.CharField(max_length=32, choices=Action.choices)
    detail = models.CharField(max_length=1000, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.package_name}"
