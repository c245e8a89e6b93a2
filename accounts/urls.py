from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.organization_list, name="organization-list"),
    path("new", views.organization_new, name="organization-new"),
    path("<str:name>/", views.organization, name="organization"),
    path("<str:name>/members", views.member_add, name="member-add"),
    path("<str:name>/members/<str:username>", views.member_change, name="member-change"),
    path("<str:name>/teams", views.team_add, name="team-add"),
    path("<str:name>/teams/<slug:slug>", views.team, name="team"),
    path("<str:name>/package-policy", views.package_policy, name="organization-package-policy"),
]
