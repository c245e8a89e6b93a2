"""Pages of package management: the settings sections (access, repository link and inheritance,
delete and restore, audit log) and deleted packages of an owner. Every change is one service call;
the services check roles. Source repositories' own pages are ``repositories.views``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.roles import namespace_role, require_person
from repositories.models import SourceRepository
from ui import page_errors
from ui.confirm import confirm_page, confirmed

from . import repository_links, selectors
from .access import Actor
from .models import Package, deleted_retention_days
from .services import grants as grant_services
from .services import packages as package_services
from .services import versions as version_services
from .settings_page import _admin_of


def _actor(request: HttpRequest) -> Actor:
    return Actor(user=request.user if request.user.is_authenticated else None)


@login_required
@require_POST
def package_access(request: HttpRequest, name: str) -> HttpResponse:
    """Grant (``role``) or remove (``remove``) a user's (``username``) or team's (``team``) role."""
    package = _admin_of(request, name)
    who = _grantee_of(request)
    if request.POST.get("remove"):
        if not confirmed(request):
            grantee = f"team {who['team']}" if who["team"] else who["username"]
            return confirm_page(
                request,
                title="Remove access",
                question=f"Remove {grantee}'s access to {package.name}?",
                button="Remove access",
                cancel=_settings_url(name, "access"),
            )
        with page_errors.as_message(request):
            grant_services.access_revoke(package=package, user=require_person(request.user), **who)
            messages.success(request, "Access removed.")
    else:
        with page_errors.as_message(request):
            grant_services.access_grant(
                package=package, user=require_person(request.user), role=request.POST.get("role", ""), **who
            )
            messages.success(request, "Access granted.")
    return redirect(_settings_url(name, "access"))


def _grantee_of(request: HttpRequest) -> dict[str, str]:
    """The user or team a grant form names: ``kind`` (user/team) and ``grantee``, or the older
    ``username`` / ``team`` fields (the remove buttons and the REST-like form)."""
    grantee = request.POST.get("grantee", "").strip()
    if grantee:
        kind = "team" if request.POST.get("kind") == "team" else "username"
        return {"username": "", "team": ""} | {kind: grantee}
    return {"username": request.POST.get("username", "").strip(), "team": request.POST.get("team", "").strip()}


def _settings_url(name: str, section: str) -> str:
    return f"{reverse('package-settings', args=[name])}#{section}"


@login_required
@require_POST
def package_repository(request: HttpRequest, name: str) -> HttpResponse:
    """Link (``repository`` = OWNER/NAME) or unlink (empty), and set ``inherit`` (a checkbox)."""
    package = _admin_of(request, name)
    chosen = request.POST.get("repository", "").strip()
    repository = None
    if chosen:
        owner, _, repo = chosen.partition("/")
        repository = SourceRepository.objects.filter(owner=owner, name=repo).first()
        if repository is None:
            messages.error(request, f"There is no repository {chosen}.")
            return redirect(_settings_url(name, "repository"))
    inherit = request.POST.get("inherit") == "on"
    with page_errors.as_message(request):
        admin = require_person(request.user)
        repository_links.package_link_repository(package=package, repository=repository, user=admin)
        repository_links.package_set_inheritance(package=package, user=admin, inherit=inherit)
        messages.success(request, "Repository settings saved.")
    return redirect(_settings_url(name, "repository"))


@login_required
@require_POST
def package_delete(request: HttpRequest, name: str) -> HttpResponse:
    """Delete the whole package, after its name was typed to confirm."""
    package = _admin_of(request, name)
    if request.POST.get("confirm", "").strip() != package.name:
        messages.error(request, f"Type “{package.name}” to confirm the deletion.")
        return redirect(_settings_url(name, "danger"))
    with page_errors.as_message(request):
        package_services.package_delete(package=package, actor=_actor(request))
        messages.success(
            request, f"{package.name} was deleted. It can be restored for {deleted_retention_days()} days."
        )
        return redirect("owner-deleted", owner=package.namespace)
    return redirect(_settings_url(name, "danger"))


@login_required
@require_http_methods(["GET", "POST"])
def version_delete(request: HttpRequest, name: str, version_id: int) -> HttpResponse:
    """Delete one version; GET, or a POST without ``confirm=yes``, shows the confirm step."""
    package = _admin_of(request, name)
    manifest = _version(package, version_id)
    if not confirmed(request):
        tags = selectors.version_tags(manifest)
        tagged = f" It is tagged {', '.join(tags)}; the tags go with it." if tags else ""
        return confirm_page(
            request,
            title="Delete this version",
            question=f"Delete {manifest.digest} from {package.name}?{tagged} It can be restored for "
            f"{deleted_retention_days()} days.",
            button="Delete version",
            cancel=reverse("package-version", args=[name, manifest.id]),
        )
    with page_errors.as_message(request):
        version_services.version_delete(manifest=manifest, actor=_actor(request))
        messages.success(request, f"Deleted {manifest.digest}.")
        return redirect("package-versions", name=name)
    return redirect("package-version", name=name, version_id=manifest.id)


@login_required
@require_http_methods(["GET", "POST"])
def version_restore(request: HttpRequest, name: str, version_id: int) -> HttpResponse:
    """Restore a deleted version (with its tags); GET shows the confirm step."""
    package = _admin_of(request, name)
    manifest = _version(package, version_id)
    if not confirmed(request):
        return confirm_page(
            request,
            title="Restore this version",
            question=f"Restore {manifest.digest} in {package.name}, with the tags it had?",
            button="Restore version",
            cancel=reverse("package-version", args=[name, manifest.id]),
        )
    with page_errors.as_message(request):
        version_services.version_restore(manifest=manifest, actor=_actor(request))
        messages.success(request, f"Restored {manifest.digest}.")
    return redirect("package-version", name=name, version_id=manifest.id)


def _version(package: Package, version_id: int) -> Any:
    return selectors.version_get(package=package, version_id=version_id)  # ManifestUnknown: the 404 page


@login_required
def owner_deleted(request: HttpRequest, owner: str) -> HttpResponse:
    """Packages of ``owner`` deleted within WHARF_DELETED_RETENTION_DAYS that the viewer may restore."""
    packages = selectors.packages_deleted(namespace=owner, user=request.user)
    if not packages and namespace_role(request.user, owner) is None:
        raise Http404("No deleted packages")
    return render(request, "packages_app/deleted.html", {"owner": owner, "packages": packages})


@login_required
@require_POST
def owner_deleted_restore(request: HttpRequest, owner: str, package_id: int) -> HttpResponse:
    found = [p for p in selectors.packages_deleted(namespace=owner, user=request.user) if p.id == int(package_id)]
    if not found:
        raise Http404("No such deleted package")
    package = found[0]
    with page_errors.as_message(request):
        package_services.package_restore(package=package, actor=_actor(request))
        messages.success(request, f"{package.name} was restored.")
        return redirect("package", name=package.name)
    return redirect("owner-deleted", owner=owner)
