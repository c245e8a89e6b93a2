"""Web pages. Users and organizations share one namespace, so an owner's page is ``/<owner>/`` and a
package's is ``/<owner>/<path>`` (the path may hold more ``/``: ``/acme/tools/builder``). Sub-pages
follow a ``/-/`` separator, which no name component can be. These routes come last in the URLconf:
/v2/, /token, /admin/, /accounts/, /settings/, /orgs/ and /static/ match first, and those names are
reserved (accounts.namespaces.RESERVED), so no owner is shadowed.
"""

from __future__ import annotations

from django.urls import path, re_path

from . import management_views, settings_views, views

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"  # packages_app.names: the distribution-spec grammar
OWNER = rf"(?P<owner>{_COMPONENT})"
NAME = rf"(?P<name>{_COMPONENT}(?:/{_COMPONENT})+)"

urlpatterns = [
    path("", views.home, name="home"),
    re_path(rf"^{OWNER}/$", views.owner, name="owner"),
    re_path(rf"^{NAME}$", views.package, name="package"),
    re_path(rf"^{NAME}/-/versions$", views.versions, name="package-versions"),
    re_path(rf"^{NAME}/-/versions/(?P<version_id>[0-9]{{1,18}})$", views.version, name="package-version"),
    re_path(rf"^{NAME}/-/settings$", views.package_settings, name="package-settings"),
    re_path(rf"^{NAME}/-/settings/visibility$", views.package_visibility, name="package-visibility"),
    # Package management (the package-access issue): packages_app.management_views.
    re_path(rf"^{NAME}/-/settings/access$", management_views.package_access, name="package-access"),
    re_path(rf"^{NAME}/-/settings/repository$", management_views.package_repository, name="package-repository"),
    re_path(rf"^{NAME}/-/settings/delete$", management_views.package_delete, name="package-delete"),
    re_path(rf"^{NAME}/-/settings/readme$", settings_views.package_readme, name="package-readme"),
    re_path(rf"^{NAME}/-/settings/retention$", settings_views.package_retention, name="package-retention"),
    re_path(
        rf"^{NAME}/-/versions/(?P<version_id>[0-9]{{1,18}})/delete$",
        management_views.version_delete,
        name="version-delete",
    ),
    re_path(
        rf"^{NAME}/-/versions/(?P<version_id>[0-9]{{1,18}})/restore$",
        management_views.version_restore,
        name="version-restore",
    ),
    re_path(rf"^{OWNER}/-/deleted$", management_views.owner_deleted, name="owner-deleted"),
    re_path(
        rf"^{OWNER}/-/deleted/(?P<package_id>[0-9]{{1,18}})/restore$",
        management_views.owner_deleted_restore,
        name="owner-deleted-restore",
    ),
]
