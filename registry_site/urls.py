"""URL map: the registry protocol under /v2/, the admin, and the web pages."""

from __future__ import annotations

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from federation.views import ExchangeView
from observability.exposition import metrics_view
from packages_app import namespace_views
from tokens_app.views import jwks
from v2api.views.token import TokenView

urlpatterns = [
    path("v2/", include("v2api.urls")),
    path("token", TokenView.as_view(), name="registry-token"),
    path(".well-known/jwks.json", jwks, name="registry-token-keys"),
    path("admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),
    # Browsers ask for /favicon.ico before they read the page's <link rel="icon">.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True), name="favicon"),
    path("accounts/", include("allauth.urls")),
    path("settings/storage", namespace_views.storage_settings, name="storage-settings"),
    path("settings/", include("tokens_app.urls")),
    # Admin pages of organizations and packages: /orgs/<name>/hooks, /orgs/<name>/tag-rules,
    # /<owner>/<name>/-/settings/hooks and …/-/settings/tag-rules (before the catch-all routes).
    path("", include("webhooks.urls")),
    path("", include("packages_app.tag_rule_urls")),
    path("ci/token", ExchangeView.as_view(), name="ci-token"),
    path("orgs/", include("federation.urls")),
    path("orgs/<str:name>/audit", namespace_views.organization_audit, name="organization-audit"),
    path("orgs/", include("accounts.urls")),
    path("api/", include("api.urls")),
    path("repos/", include("tokens_app.automation_urls")),
    path("repos/", include("repositories.urls")),
    path("", include("packages_app.urls")),
]
