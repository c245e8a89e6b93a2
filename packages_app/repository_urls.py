"""Pages of source repositories (``/repos/…``): list and create, collaborators (issuing an automation token
there is ``tokens_app.views.repository_token``)."""

from __future__ import annotations

from django.urls import path

from . import management_views as views

urlpatterns = [
    path("", views.repositories, name="repositories"),
    path("<str:owner>/<str:name>/", views.repository, name="repository"),
    path("<str:owner>/<str:name>/collaborators", views.repository_collaborator, name="repository-collaborator"),
]
