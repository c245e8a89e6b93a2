"""The automation-token actions of a repository page, under ``/repos/`` beside ``repositories.urls``."""

from __future__ import annotations

from django.urls import path

from . import automation_views

urlpatterns = [
    path("<str:owner>/<str:name>/tokens", automation_views.repository_token, name="repository-token"),
    path(
        "<str:owner>/<str:name>/tokens/<int:token_id>/revoke",
        automation_views.repository_token_revoke,
        name="repository-token-revoke",
    ),
]
