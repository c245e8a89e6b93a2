"""Webhook pages of an organization (``/orgs/<name>/hooks``) and of a package
(``/<owner>/<name>/-/settings/hooks``): list and add, edit, delete, ping, the delivery log and
"redeliver". Admins only: an outsider gets the 404 of a missing organization or package, a reader or
plain member a 403. Every change is one service call; the services check roles themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts import selectors as account_selectors
from accounts import services as account_services
from packages_app import selectors as package_selectors
from packages_app.exceptions import NameUnknown
from packages_app.models import Package, Role

from . import selectors, services
from .forms import WebhookForm
from .models import Webhook


@dataclass(frozen=True)
class Scope:
    """Whose hooks a page shows: an organization's (``namespace``) or a package's."""

    title: str
    namespace: str = ""
    package: Package | None = None

    def url(self, hook: Webhook | None = None) -> str:
        if self.package is not None:
            base = reverse("package-hooks", args=[self.package.name])
        else:
            base = reverse("organization-hooks", args=[self.namespace])
        return f"{base}/{hook.id}" if hook is not None else base


def _scope(request: HttpRequest, org: str | None, name: str | None) -> Scope:
    if org is not None:
        organization = account_selectors.organization_for_member(name=org, user=request.user)
        if not account_services.is_owner(organization=organization, user=request.user):
            raise PermissionDenied("Only the organization's owners manage its webhooks.")
        return Scope(title=organization.name, namespace=organization.name)
    try:
        package, role = package_selectors.package_for_page(name=name or "", user=request.user)
    except NameUnknown:
        raise Http404("Not Found") from None
    if role < Role.ADMIN:
        raise PermissionDenied("Only the package's admins manage its webhooks.")
    return Scope(title=package.name, package=package)


def _done(request: HttpRequest, action: Callable[[], Any], success: str) -> bool:
    """Run a service; its refusal becomes an error message. True when it succeeded."""
    try:
        action()
    except (ValidationError, PermissionDenied) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, text or "Not allowed.")
        return False
    messages.success(request, success)
    return True


def _create(request: HttpRequest, scope: Scope, form: WebhookForm) -> bool:
    data = form.cleaned_data
    return _done(
        request,
        lambda: services.webhook_create(
            user=request.user,
            namespace=scope.namespace,
            package=scope.package,
            url=data["url"],
            secret=data["secret"],
            events_=data["events"],
            active=data["active"],
        ),
        "Webhook added; a ping is on its way.",
    )


@login_required
def hooks(request: HttpRequest, org: str | None = None, name: str | None = None) -> HttpResponse:
    scope = _scope(request, org, name)
    form = WebhookForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and _create(request, scope, form):
        return redirect(scope.url())
    context = {"scope": scope, "hooks": selectors.hooks_of(namespace=scope.namespace, package=scope.package)}
    return render(request, "webhooks/hooks.html", context | {"form": form})


def _update(request: HttpRequest, hook: Webhook, form: WebhookForm) -> bool:
    data = form.cleaned_data
    return _done(
        request,
        lambda: services.webhook_update(
            webhook=hook,
            user=request.user,
            url=data["url"],
            events_=data["events"],
            secret=data["secret"] or None,  # an empty field keeps the secret
            active=data["active"],
        ),
        "Webhook saved.",
    )


@login_required
def hook(request: HttpRequest, hook_id: int, org: str | None = None, name: str | None = None) -> HttpResponse:
    scope = _scope(request, org, name)
    found = selectors.hook_get(hook_id=hook_id, namespace=scope.namespace, package=scope.package)
    initial = {"url": found.url, "events": found.events, "active": found.active}
    form = WebhookForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid() and _update(request, found, form):
        return redirect(scope.url(found))
    context = {"scope": scope, "hook": found, "form": form, "deliveries": selectors.deliveries_of(hook=found)}
    return render(request, "webhooks/hook.html", context)


@login_required
@require_POST
def hook_action(
    request: HttpRequest, hook_id: int, action: str, org: str | None = None, name: str | None = None
) -> HttpResponse:
    """``delete``, ``ping``, or ``redeliver`` (with ``delivery``: the logged delivery to send again)."""
    scope = _scope(request, org, name)
    found = selectors.hook_get(hook_id=hook_id, namespace=scope.namespace, package=scope.package)
    if action == "delete":
        _done(request, lambda: services.webhook_delete(webhook=found, user=request.user), "Webhook deleted.")
        return redirect(scope.url())
    if action == "ping":
        _done(request, lambda: services.webhook_ping(webhook=found, user=request.user), "Ping sent.")
    else:
        delivery = selectors.delivery_get(hook=found, delivery_id=_number(request.POST.get("delivery", "")))
        _done(request, lambda: services.delivery_redeliver(delivery=delivery, user=request.user), "Redelivery sent.")
    return redirect(scope.url(found))


def _number(value: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise Http404("Not Found")
    return int(value)
