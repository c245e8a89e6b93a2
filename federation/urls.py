from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("<str:name>/ci-issuers", views.issuers, name="ci-issuers"),
    path("<str:name>/ci-issuers/<int:issuer_id>/delete", views.issuer_delete, name="ci-issuer-delete"),
]
