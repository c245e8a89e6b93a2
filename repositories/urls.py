"""Pages of source repositories (``/repos/…``): list and create, one repository, and its collaborators
(``repositories.views``); its automation-token actions are ``tokens_app.automation_urls``."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.repositories, name="repositories"),
    path("<str:owner>/<str:name>/", views.repository, name="repository"),
    path("<str:owner>/<str:name>/collaborators", views.repository_collaborator, name="repository-collaborator"),
]
