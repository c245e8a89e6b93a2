"""Routes of the REST API (``/api/…``), its OpenAPI schema and its docs page.

Package names may hold ``/``: clients URL-encode it (``tools%2Fbuilder``), as with GitHub's API; the
server sees it decoded, so the routes take a name of several components before a fixed suffix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.urls import URLPattern, path, re_path
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt

from repositories.services import REPOSITORY_NAME_RE

from . import automation_tokens, quotas, tag_rules, token_views, views, webhooks

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
NAME = rf"(?P<package_name>{_COMPONENT}(?:/{_COMPONENT})*)"
_OWNER = r"(?P<owner>[a-z0-9]+(?:-[a-z0-9]+)*)"
SCOPES = {"user": "user", "users": rf"users/{_OWNER}", "orgs": rf"orgs/{_OWNER}"}


_HOOK = r"(?P<hook_id>[0-9]{1,18})"
_AUTOMATION_TOKENS = rf"^repos/{_OWNER}/(?P<repo>{REPOSITORY_NAME_RE})/automation-tokens"


def _loaded_on_first_request(view_class: str, **initkwargs: Any) -> Callable[..., HttpResponseBase]:
    """drf-spectacular's view ``view_class``, imported when it is first asked for: its generator loads
    ``django.test`` and Jinja2, which no other request needs (``api.openapi``)."""
    loaded: list[Callable[..., HttpResponseBase]] = []

    @csrf_exempt  # as DRF's views are
    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not loaded:
            loaded.append(import_string(view_class).as_view(**initkwargs))
        return loaded[0](request, *args, **kwargs)

    return view


def _hook_routes(kind: str, base: str, label: str) -> list[URLPattern]:
    """Webhooks of an organization or a package (api.webhooks)."""
    extra: dict[str, Any] = {"kind": kind}
    hooks = rf"{base}/hooks"
    return [
        re_path(rf"{hooks}$", webhooks.HookList.as_view(), extra, name=f"api-{label}-hooks"),
        re_path(rf"{hooks}/{_HOOK}$", webhooks.HookDetail.as_view(), extra, name=f"api-{label}-hook"),
        re_path(rf"{hooks}/{_HOOK}/pings$", webhooks.HookPing.as_view(), extra, name=f"api-{label}-hook-ping"),
        re_path(
            rf"{hooks}/{_HOOK}/deliveries$", webhooks.DeliveryList.as_view(), extra, name=f"api-{label}-deliveries"
        ),
        re_path(
            rf"{hooks}/{_HOOK}/deliveries/(?P<delivery_id>[0-9]{{1,18}})/attempts$",
            webhooks.DeliveryAttempt.as_view(),
            extra,
            name=f"api-{label}-delivery-attempts",
        ),
    ]


def _tag_rule_routes(kind: str, base: str, label: str) -> list[URLPattern]:
    """Tag rules of an organization or a package (api.tag_rules)."""
    extra: dict[str, Any] = {"kind": kind}
    return [
        re_path(rf"{base}/tag-rules$", tag_rules.TagRuleList.as_view(), extra, name=f"api-{label}-tag-rules"),
        re_path(
            rf"{base}/tag-rules/(?P<rule_id>[0-9]{{1,18}})$",
            tag_rules.TagRuleDetail.as_view(),
            extra,
            name=f"api-{label}-tag-rule",
        ),
    ]


def _routes(kind: str, prefix: str) -> list[URLPattern]:
    extra: dict[str, Any] = {"kind": kind}
    base = rf"^{prefix}/packages"
    container = rf"{base}/container/{NAME}"
    return [
        re_path(rf"^{prefix}/quota$", quotas.QuotaView.as_view(), extra, name=f"api-{kind}-quota"),
        *_hook_routes(kind, rf"^{prefix}/packages/container/{NAME}", f"{kind}-package"),
        *_tag_rule_routes(kind, rf"^{prefix}/packages/container/{NAME}", f"{kind}-package"),
        re_path(rf"{base}$", views.PackageList.as_view(), extra, name=f"api-{kind}-packages"),
        re_path(
            rf"{container}/versions/(?P<version_id>[0-9]{{1,18}})/restore$",
            views.VersionRestore.as_view(),
            extra,
            name=f"api-{kind}-version-restore",
        ),
        re_path(
            rf"{container}/versions/(?P<version_id>[0-9]{{1,18}})$",
            views.VersionDetail.as_view(),
            extra,
            name=f"api-{kind}-version",
        ),
        re_path(rf"{container}/versions$", views.VersionList.as_view(), extra, name=f"api-{kind}-versions"),
        re_path(rf"{container}/restore$", views.PackageRestore.as_view(), extra, name=f"api-{kind}-package-restore"),
        re_path(
            rf"{container}/access/(?P<grantee_type>users|teams)/(?P<grantee>[a-z0-9-]{{1,150}})$",
            views.AccessGrant.as_view(),
            extra,
            name=f"api-{kind}-access-grant",
        ),
        re_path(rf"{container}/access$", views.AccessList.as_view(), extra, name=f"api-{kind}-access"),
        re_path(rf"{container}$", views.PackageDetail.as_view(), extra, name=f"api-{kind}-package"),
    ]


urlpatterns = [
    path("schema", _loaded_on_first_request("drf_spectacular.views.SpectacularAPIView"), name="api-schema"),
    path(
        "docs",
        _loaded_on_first_request("drf_spectacular.views.SpectacularSwaggerView", url_name="api-schema"),
        name="api-docs",
    ),
    path("user/tokens", token_views.TokenList.as_view(), name="api-user-tokens"),
    re_path(
        rf"{_AUTOMATION_TOKENS}$",
        automation_tokens.AutomationTokenList.as_view(),
        name="api-repository-automation-tokens",
    ),
    re_path(
        rf"{_AUTOMATION_TOKENS}/(?P<token_id>[0-9]{{1,18}})$",
        automation_tokens.AutomationTokenDetail.as_view(),
        name="api-repository-automation-token",
    ),
    *_hook_routes("orgs", rf"^{SCOPES['orgs']}", "orgs"),
    *_tag_rule_routes("orgs", rf"^{SCOPES['orgs']}", "orgs"),
    *(route for kind, prefix in SCOPES.items() for route in _routes(kind, prefix)),
]
