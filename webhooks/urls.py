"""Routes of the webhook pages, included before the packages' catch-all routes."""

from __future__ import annotations

from django.urls import path, re_path

from packages_app.urls import NAME

from . import views

ACTION = r"(?P<action>delete|ping|redeliver)"
HOOK = r"(?P<hook_id>[0-9]{1,18})"

urlpatterns = [
    path("orgs/<str:org>/hooks", views.hooks, name="organization-hooks"),
    re_path(rf"^orgs/(?P<org>[^/]+)/hooks/{HOOK}$", views.hook, name="organization-hook"),
    re_path(rf"^orgs/(?P<org>[^/]+)/hooks/{HOOK}/{ACTION}$", views.hook_action, name="organization-hook-action"),
    re_path(rf"^{NAME}/-/settings/hooks$", views.hooks, name="package-hooks"),
    re_path(rf"^{NAME}/-/settings/hooks/{HOOK}$", views.hook, name="package-hook"),
    re_path(rf"^{NAME}/-/settings/hooks/{HOOK}/{ACTION}$", views.hook_action, name="package-hook-action"),
]
