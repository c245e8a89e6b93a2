"""Source repositories and their collaborators (REGISTRY.md "Packages, visibility and access").

Both models lived in ``packages_app`` until issue 10 moved them here; their tables kept their names
(``Meta.db_table``), so the move changed no row (``migrations/0001_initial.py``). A repository's
automation tokens are ``tokens_app.models.AutomationToken`` (a token like the others there); what may be
done with them is ``repositories.services``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.roles import Role


class SourceRepository(models.Model):
    """A source repository ``OWNER/NAME`` that packages link to. Its owner namespace's admins administer
    it; collaborators hold read / write / admin."""

    owner = models.CharField(max_length=39, db_index=True)  # a user's or an organization's namespace
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=255, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "packages_app_sourcerepository"
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="repository_unique_name")]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


class RepositoryCollaborator(models.Model):
    repository = models.ForeignKey(SourceRepository, on_delete=models.CASCADE, related_name="collaborators")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    role = models.IntegerField(choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "packages_app_repositorycollaborator"
        constraints = [models.UniqueConstraint(fields=["repository", "user"], name="collaborator_unique_user")]

    def __str__(self) -> str:
        return f"{Role(self.role).label} on repository {self.repository_id} for user {self.user_id}"
