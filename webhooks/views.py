"""Webhook pages of an organization (``/orgs/<name>/hooks``) and of a package
(``/<owner>/<name>/-/settings/hooks``): list and add, edit, delete, ping, the delivery log and
"redeliver". Admins only: an outsider gets the 404 of a missing organization or package, a reader or
plain member a 403. Every change is one service call; the services check roles themselves.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.roles import require_person
from packages_app.admin_scope import Scope, admin_scope
from ui import page_errors
from ui.confirm import confirm_page, confirmed

from . import selectors, services
from .forms import WebhookForm
from .models import Webhook


def _create(request: HttpRequest, scope: Scope, form: WebhookForm) -> bool:
    data = form.cleaned_data
    with page_errors.as_message(request):
        services.webhook_create(
            user=require_person(request.user),
            namespace=scope.namespace,
            package=scope.package,
            url=data["url"],
            secret=data["secret"],
            events_=data["events"],
            active=data["active"],
        )
        messages.success(request, "Webhook added; a ping is on its way.")
        return True
    return False


@login_required
def hooks(request: HttpRequest, org: str | None = None, name: str | None = None) -> HttpResponse:
    scope = admin_scope(request, org, name, what="webhooks")
    form = WebhookForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and _create(request, scope, form):
        return redirect(scope.url())
    context = {"scope": scope, "hooks": selectors.hooks_of(namespace=scope.namespace, package=scope.package)}
    return render(request, "webhooks/hooks.html", context | {"form": form})


def _update(request: HttpRequest, hook: Webhook, form: WebhookForm) -> bool:
    data = form.cleaned_data
    with page_errors.as_message(request):
        services.webhook_update(
            webhook=hook,
            user=require_person(request.user),
            url=data["url"],
            events_=data["events"],
            secret=data["secret"] or None,  # an empty field keeps the secret
            active=data["active"],
        )
        messages.success(request, "Webhook saved.")
        return True
    return False


@login_required
def hook(request: HttpRequest, hook_id: int, org: str | None = None, name: str | None = None) -> HttpResponse:
    scope = admin_scope(request, org, name, what="webhooks")
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
    scope = admin_scope(request, org, name, what="webhooks")
    found = selectors.hook_get(hook_id=hook_id, namespace=scope.namespace, package=scope.package)
    if action == "delete":
        if not confirmed(request):
            question = f"Delete the webhook to {found.url}? Its delivery history goes with it."
            return confirm_page(
                request, title="Delete webhook", question=question, button="Delete webhook", cancel=scope.url(found)
            )
        with page_errors.as_message(request):
            services.webhook_delete(webhook=found, user=require_person(request.user))
            messages.success(request, "Webhook deleted.")
        return redirect(scope.url())
    if action == "ping":
        with page_errors.as_message(request):
            services.webhook_ping(webhook=found, user=require_person(request.user))
            messages.success(request, "Ping sent.")
    else:
        delivery = selectors.delivery_get(hook=found, delivery_id=_number(request.POST.get("delivery", "")))
        with page_errors.as_message(request):
            services.delivery_redeliver(delivery=delivery, user=require_person(request.user))
            messages.success(request, "Redelivery sent.")
    return redirect(scope.url(found))


def _number(value: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise Http404("Not Found")
    return int(value)
