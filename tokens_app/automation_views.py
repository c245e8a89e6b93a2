"""The repository page's automation-token actions (``/repos/<owner>/<name>/tokens…``): issue one (shown
once, on the repository page) and revoke one after the confirm step of ``ui.confirm``. The section
itself is ``templates/tokens_app/automation_tokens.html``, included by the repository page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.roles import Role, require_person
from errors import PermissionRefused
from repositories import views as repository_pages
from repositories.selectors import repository_for_viewer
from ui.confirm import confirm_page, confirmed

from .automation import automation_token_issue, automation_token_of, automation_token_revoke
from .models import AutomationToken


@login_required
@require_POST
@never_cache
def repository_token(request: HttpRequest, owner: str, name: str) -> HttpResponse:
    """Issue an automation token (shown once, on the repository page)."""
    repo, _ = repository_for_viewer(owner=owner, name=name, user=request.user)
    new = automation_token_issue(repository=repo, user=require_person(request.user))  # refused: the 403 page
    return repository_pages.repository(request, owner, name, new_token=new.plaintext)


@login_required
@require_POST
def repository_token_revoke(request: HttpRequest, owner: str, name: str, token_id: int) -> HttpResponse:
    """Revoke one of the repository's automation tokens (its admins), after the confirm step."""
    repo, role = repository_for_viewer(owner=owner, name=name, user=request.user)
    if role != Role.ADMIN:
        raise PermissionRefused("Only the repository's admins can revoke automation tokens.")
    token = automation_token_of(repository=repo, token_id=token_id)
    if token is None:
        raise Http404("No such automation token")
    if not confirmed(request):
        return confirm_page(
            request,
            title="Revoke automation token",
            question=f"Revoke the automation token {token.PREFIX}{token.prefix}… of {repo.full_name}? "
            "Jobs using it can no longer push or pull.",
            button="Revoke token",
            cancel=reverse("repository", args=[owner, name]) + "#automation",
        )
    try:
        automation_token_revoke(repository=repo, token_id=token_id, user=require_person(request.user))
    except AutomationToken.DoesNotExist:
        raise Http404("No such automation token") from None
    messages.success(request, "Automation token revoked. Jobs using it can no longer push or pull.")
    return redirect(reverse("repository", args=[owner, name]) + "#automation")
