"""Web pages for packages: home, owner pages, the package page, its versions and its settings.

Each view reads the request, asks one selector (or calls one service) and renders. A package the
viewer cannot read is the same 404 as one that does not exist (REGISTRY.md "Packages, visibility and
access"): the selectors raise ``NameUnknown`` for both, and ``ui.page_errors`` answers it
with the 404 page. Only its admins see its settings.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import person
from ui import page_errors

from . import selectors
from .forms import VISIBILITY_HELP, VisibilityForm
from .models import Package, Role
from .pages import listing
from .pages import package as package_page
from .pages import version as version_page
from .pages import versions as versions_list
from .services.packages import package_set_visibility
from .settings_page import _admin_of, settings_context


def _query(request: HttpRequest) -> str:
    return request.GET.get("q", "").strip()[:100]


def _person(request: HttpRequest) -> User | None:
    return request.user if request.user.is_authenticated else None


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    page = listing.home_page(user=request.user, query=_query(request))
    return render(request, "packages_app/home.html", {"page": page})


@require_GET
def owner(request: HttpRequest, owner: str) -> HttpResponse:
    page = listing.owner_page(owner=owner, user=request.user, query=_query(request))
    return render(request, "packages_app/owner.html", {"page": page})


@require_GET
def package(request: HttpRequest, name: str) -> HttpResponse:
    overview = package_page.package_overview(name=name, user=request.user)
    context = {"page": overview, "package": overview.package, "tab": "overview", "is_admin": overview.is_admin}
    return render(request, "packages_app/package.html", context)


@require_GET
def version(request: HttpRequest, name: str, version_id: int) -> HttpResponse:
    """One version: digests, platforms, layers, labels, referrers, pull commands."""
    detail = version_page.version_detail(name=name, user=request.user, version_id=int(version_id))
    context = {"v": detail, "package": detail.package, "tab": "versions", "is_admin": detail.is_admin}
    return render(request, "packages_app/version.html", context)


@require_GET
def versions(request: HttpRequest, name: str) -> HttpResponse:
    package, role = selectors.package_for_page(name=name, user=request.user)
    view = request.GET.get("view", "all")
    view = "all" if view == "deleted" and role < Role.ADMIN else view  # deleted versions: admins only
    tag = request.GET.get("tag", "").strip()[:128]
    page = versions_list.versions_page(package=package, view=view, page=request.GET.get("page", 1), tag=tag)
    context = {"page": page, "package": package, "tab": "versions", "is_admin": role >= Role.ADMIN, "tag": tag}
    return render(request, "packages_app/versions.html", context)


def _settings_page(request: HttpRequest, package: Package, form: VisibilityForm | None = None) -> HttpResponse:
    organization = selectors.owner_is_organization(namespace=package.namespace)
    context = {
        "package": package,
        "tab": "settings",
        "is_admin": True,
        "visibility_form": form or VisibilityForm(package=package, organization=organization),
        "visibility_help": VISIBILITY_HELP,
    }
    context |= settings_context(package, person(request.user))
    return render(request, "packages_app/settings.html", context)


@require_GET
def package_settings(request: HttpRequest, name: str) -> HttpResponse:
    return _settings_page(request, _admin_of(request, name))


@require_POST
def package_visibility(request: HttpRequest, name: str) -> HttpResponse:
    package = _admin_of(request, name)
    organization = selectors.owner_is_organization(namespace=package.namespace)
    form = VisibilityForm(request.POST, package=package, organization=organization)
    if form.is_valid():
        with page_errors.onto(form):
            package_set_visibility(package=package, user=_person(request), visibility=form.cleaned_data["visibility"])
            messages.success(request, f"{package.name} is now {package.get_visibility_display().lower()}.")
            return redirect("package-settings", name=name)
    return _settings_page(request, package, form)
