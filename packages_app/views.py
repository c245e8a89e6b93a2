"""Web pages for packages. (The full package pages are their own issue; this is the front door.)"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .models import Package, Visibility


def home(request: HttpRequest) -> HttpResponse:
    from accounts.selectors import organizations_of

    packages = Package.objects.filter(visibility=Visibility.PUBLIC).order_by("-updated_at")[:50]
    organizations = organizations_of(user=request.user) if request.user.is_authenticated else []
    context = {"packages": packages, "organizations": organizations, "host": request.get_host()}
    return render(request, "packages_app/home.html", context)
