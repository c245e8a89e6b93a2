"""Pages of a namespace's packages that live on its owner's pages: an organization's audit log and
the signed-in person's storage settings. Here, not in accounts: accounts knows people and
organizations, the packages app knows what they store and what happened to it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts import services as account_services

from . import quotas
from .audit import audit_page


@login_required
def storage_settings(request: HttpRequest) -> HttpResponse:
    """Settings → Storage: the signed-in person's own namespace's usage and quota."""
    usage = quotas.usage_of(request.user.get_username())
    return render(request, "packages_app/storage_settings.html", {"storage": usage})


@login_required
def organization_audit(request: HttpRequest, name: str) -> HttpResponse:
    """The organization's audit log (owners): packages, members and teams; filtered and paginated."""
    organization = account_services.owned_organization(name=name, user=request.user)
    page = audit_page(namespace=organization.name, query=request.GET, page=request.GET.get("page", 1))
    return render(request, "packages_app/organization_audit.html", {"organization": organization, "audit": page})
