"""Tag rule pages of an organization (``/orgs/<name>/tag-rules``) and of a package
(``/<owner>/<name>/-/settings/tag-rules``): the rules, a form to add one, a button to remove each.
Admins only (``admin_scope``); each change is one ``tag_rules`` service call, audited."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.roles import require_person
from ui import page_errors
from ui.confirm import confirm_page, confirmed

from . import tag_rules
from .admin_scope import admin_scope
from .models import TagRule

WHAT = "tag rules"


@login_required
def rules(request: HttpRequest, org: str | None = None, name: str | None = None) -> HttpResponse:
    scope = admin_scope(request, org, name, what=WHAT, page="tag-rules")
    if request.method == "POST":
        with page_errors.as_message(request):
            tag_rules.tag_rule_create(
                user=require_person(request.user),
                namespace=scope.namespace,
                package=scope.package,
                pattern=request.POST.get("pattern", ""),
                kind=request.POST.get("kind", ""),
                team=request.POST.get("team", "").strip(),
            )
            messages.success(request, "Tag rule added.")
            return redirect(scope.url())
    found = tag_rules.tag_rules_of(namespace=scope.namespace, package=scope.package)
    context = {"scope": scope, "rules": found, "kinds": TagRule.Kind.choices}
    return render(request, "packages_app/tag_rules.html", context)


@login_required
@require_POST
def rule_delete(request: HttpRequest, rule_id: int, org: str | None = None, name: str | None = None) -> HttpResponse:
    scope = admin_scope(request, org, name, what=WHAT, page="tag-rules")
    rule = tag_rules.tag_rules_of(namespace=scope.namespace, package=scope.package).filter(id=rule_id).first()
    if rule is None:
        raise Http404("Not Found")
    if not confirmed(request):
        question = f"Remove the rule {rule.pattern}? Matching tags can then be moved and deleted."
        return confirm_page(
            request, title="Remove tag rule", question=question, button="Remove rule", cancel=scope.url()
        )
    tag_rules.tag_rule_delete(user=require_person(request.user), rule=rule)
    messages.success(request, "Tag rule removed.")
    return redirect(scope.url())
