"""Pages of source repositories (``/repos/…``): list and create, one repository, its collaborators and
its automation tokens (``repositories.views``)."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.repositories, name="repositories"),
    path("<str:owner>/<str:name>/", views.repository, name="repository"),
    path("<str:owner>/<str:name>/collaborators", views.repository_collaborator, name="repository-collaborator"),
    path("<str:owner>/<str:name>/tokens", views.repository_token, name="repository-token"),
    path(
        "<str:owner>/<str:name>/tokens/<int:token_id>/revoke",
        views.repository_token_revoke,
        name="repository-token-revoke",
    ),
]
