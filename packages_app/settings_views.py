"""Settings sections of a package page beyond visibility and access: the README and retention rules.
Each POST calls one service of ``packages_app.package_settings`` and returns to its section."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.roles import require_person
from ui import page_errors
from ui.confirm import confirm_page, confirmed

from . import package_settings
from .exceptions import InvalidInput
from .management_views import _settings_url
from .settings_page import _admin_of


@login_required
@require_POST
def package_readme(request: HttpRequest, name: str) -> HttpResponse:
    package = _admin_of(request, name)
    readme = request.POST.get("readme", "")
    with page_errors.as_message(request):
        package_settings.package_set_readme(package=package, user=require_person(request.user), readme=readme)
        messages.success(request, "README saved." if readme.strip() else "README removed.")
    return redirect(_settings_url(name, "readme"))


def _limit(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit():
        raise InvalidInput("Limits are whole numbers from 1 to 100,000.", code="limit")
    return int(value)


def _rule_input(request: HttpRequest) -> package_settings.RuleInput:
    return package_settings.RuleInput(
        keep_newest=_limit(request.POST.get("keep_newest", "")),
        untagged_older_than_days=_limit(request.POST.get("untagged_older_than_days", "")),
        protected_tags=request.POST.get("protected_tags", ""),
        enabled=request.POST.get("enabled") == "on",
    )


def _rule_id(request: HttpRequest) -> int | None:
    value = request.POST.get("rule", "")
    return int(value) if value.isdigit() else None


@login_required
@require_POST
def package_retention(request: HttpRequest, name: str) -> HttpResponse:
    """Add (no ``rule``), change (``rule``) or remove (``remove``, after the confirm step) a rule."""
    package = _admin_of(request, name)
    rule_id = _rule_id(request)
    if request.POST.get("remove") and rule_id is not None:
        if not confirmed(request):
            return confirm_page(
                request,
                title="Remove retention rule",
                question=f"Remove this retention rule of {package.name}? Versions it would delete stay.",
                button="Remove rule",
                cancel=_settings_url(name, "retention"),
            )
        with page_errors.as_message(request):
            package_settings.retention_rule_delete(package=package, user=require_person(request.user), rule_id=rule_id)
            messages.success(request, "Retention rule removed.")
        return redirect(_settings_url(name, "retention"))
    with page_errors.as_message(request):
        package_settings.retention_rule_save(
            package=package, user=require_person(request.user), data=_rule_input(request), rule_id=rule_id
        )
        messages.success(request, "Retention rule saved. Garbage collection applies it on its next run.")
    return redirect(_settings_url(name, "retention"))
