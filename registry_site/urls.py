"""URL map: the registry protocol under /v2/, the admin, and the web pages."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("v2/", include("v2api.urls")),
    path("admin/", admin.site.urls),
    path("", include("packages_app.urls")),
]
