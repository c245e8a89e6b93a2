"""Pages of source repositories (``/repos/…``): the viewer's list and the create form, one repository
with its packages and collaborators. For its admins the page also holds the automation-token section
(``templates/tokens_app/automation_tokens.html``; its actions are ``tokens_app.automation_views``),
which the template asks for by name, so this app never imports the tokens app."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.roles import Role, namespace_role, require_person
from accounts.selectors import organizations_of
from ui import page_errors
from ui.confirm import confirm_page, confirmed

from . import selectors, services


@login_required
def repositories(request: HttpRequest) -> HttpResponse:
    """The viewer's repositories, and a form to create one in a namespace they own."""
    owners = [request.user.username] + [
        o.name
        for o in organizations_of(user=require_person(request.user))
        if namespace_role(request.user, o.name) == Role.ADMIN
    ]
    if request.method == "POST":
        data = request.POST
        with page_errors.as_message(request):
            created = services.repository_create(
                owner=data.get("owner", ""),
                name=data.get("name", ""),
                user=require_person(request.user),
                description=data.get("description", ""),
            )
            messages.success(request, "Repository created.")
            return redirect("repository", owner=created.owner, name=created.name)
    context = {
        "repositories": selectors.repositories_of(user=request.user),
        "owners": owners,
        "form_data": request.POST if request.method == "POST" else {},  # an error keeps what was typed
    }
    return render(request, "repositories/repositories.html", context)


def _repository(request: HttpRequest, owner: str, name: str) -> tuple[Any, Role | None]:
    """RepositoryUnknown (the 404 page) for a repository the viewer may not see, as for a missing one."""
    return selectors.repository_for_viewer(owner=owner, name=name, user=request.user)


@login_required
@never_cache  # the page may hold a new automation token's only copy
def repository(request: HttpRequest, owner: str, name: str, new_token: str = "") -> HttpResponse:
    repo, role = _repository(request, owner, name)
    is_admin = role == Role.ADMIN
    context = {
        "repository": repo,
        "is_admin": is_admin,
        "collaborators": repo.collaborators.select_related("user").order_by("user__username"),
        "packages": [p for p in repo.packages.order_by("name") if p.deleted_at is None],
        "role_choices": [("read", "Read"), ("write", "Write"), ("admin", "Admin")],
        "new_token": new_token,
    }
    return render(request, "repositories/repository.html", context)


@login_required
@require_POST
def repository_collaborator(request: HttpRequest, owner: str, name: str) -> HttpResponse:
    repo, _ = _repository(request, owner, name)
    username = request.POST.get("username", "").strip()
    if request.POST.get("remove"):
        if not confirmed(request):
            return confirm_page(
                request,
                title="Remove collaborator",
                question=f"Remove {username} from {repo.full_name}?",
                button="Remove collaborator",
                cancel=reverse("repository", args=[owner, name]),
            )
        with page_errors.as_message(request):
            services.collaborator_remove(repository=repo, user=require_person(request.user), username=username)
            messages.success(request, f"Removed {username}.")
    else:
        role = request.POST.get("role", "")
        with page_errors.as_message(request):
            services.collaborator_set(repository=repo, user=require_person(request.user), username=username, role=role)
            messages.success(request, f"{username} is a collaborator.")
    return redirect("repository", owner=owner, name=name)
