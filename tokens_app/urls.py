from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("tokens/", views.token_list, name="token-list"),
    path("tokens/new", views.token_new, name="token-new"),
    path("tokens/<int:token_id>/revoke", views.token_revoke, name="token-revoke"),
]
