"""Organization pages: create, members and roles, teams. Changes are owners' only (services check)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from errors import PermissionRefused
from ui import page_errors
from ui.confirm import confirm_page, confirmed

from . import selectors, services
from .forms import MemberForm, OrganizationForm, TeamForm, TeamMemberForm
from .models import Organization
from .roles import require_person


def _owned(request: HttpRequest, name: str) -> Organization:
    """The organization, for a change only owners make: checked before any form, so a member's
    POST is refused whatever it holds (outsiders still get the 404 of a missing organization)."""
    return services.owned_organization(name=name, user=request.user)


@login_required
def organization_new(request: HttpRequest) -> HttpResponse:
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with page_errors.onto(form):
            services.organization_create(
                name=data["name"], owner=require_person(request.user), description=data["description"]
            )
            return redirect("organization", name=data["name"])
    return render(request, "accounts/organization_new.html", {"form": form})


def _organization_page(request: HttpRequest, name: str, **forms_: forms.Form) -> HttpResponse:
    organization = selectors.organization_for_member(name=name, user=request.user)
    context = {
        "organization": organization,
        "memberships": selectors.memberships_of(organization=organization),
        "teams": organization.teams.order_by("name"),
        "is_owner": services.is_owner(organization=organization, user=require_person(request.user)),
        "member_form": forms_.get("member_form") or MemberForm(),
        "team_form": forms_.get("team_form") or TeamForm(),
        "visibility_choices": [("private", "Private"), ("internal", "Internal"), ("public", "Public")],
    }
    return render(request, "accounts/organization.html", context)


@login_required
def organization_list(request: HttpRequest) -> HttpResponse:
    """The organizations the person belongs to, and a way to create one."""
    organizations = selectors.organizations_of(user=require_person(request.user))
    return render(request, "accounts/organization_list.html", {"organizations": organizations})


@login_required
def organization(request: HttpRequest, name: str) -> HttpResponse:
    return _organization_page(request, name)


@login_required
@require_POST
def member_add(request: HttpRequest, name: str) -> HttpResponse:
    organization = _owned(request, name)
    form = MemberForm(request.POST)
    if form.is_valid():
        with page_errors.onto(form):
            services.member_add(
                organization=organization,
                actor=require_person(request.user),
                username=form.cleaned_data["username"],
                role=form.cleaned_data["role"],
            )
            messages.success(request, f"Added {form.cleaned_data['username']}.")
            return redirect("organization", name=name)
    return _organization_page(request, name, member_form=form)


@login_required
@require_POST
def member_change(request: HttpRequest, name: str, username: str) -> HttpResponse:
    organization = _owned(request, name)
    removing = bool(request.POST.get("remove"))
    if removing and not confirmed(request):
        return confirm_page(
            request,
            title="Remove member",
            question=f"Remove {username} from {organization.name}? They leave its teams too.",
            button="Remove member",
            cancel=f"/orgs/{organization.name}/#members",
        )
    with page_errors.as_message(request):
        if removing:
            services.member_remove(organization=organization, actor=require_person(request.user), username=username)
            messages.success(request, f"Removed {username} from {organization.name}.")
        else:
            membership = services.member_set_role(
                organization=organization,
                actor=require_person(request.user),
                username=username,
                role=request.POST.get("role", ""),
            )
            messages.success(request, f"{username} is now {membership.get_role_display().lower()}.")
    return redirect("organization", name=name)


@login_required
@require_POST
def team_add(request: HttpRequest, name: str) -> HttpResponse:
    organization = _owned(request, name)
    form = TeamForm(request.POST)
    if form.is_valid():
        with page_errors.onto(form):
            services.team_create(
                organization=organization, actor=require_person(request.user), name=form.cleaned_data["name"]
            )
            messages.success(request, f"Created the team {form.cleaned_data['name']}.")
            return redirect("organization", name=name)
    return _organization_page(request, name, team_form=form)


@login_required
def team(request: HttpRequest, name: str, slug: str) -> HttpResponse:
    organization = selectors.organization_for_member(name=name, user=request.user)
    team_ = selectors.team_of(organization=organization, slug=slug)
    form = TeamMemberForm(request.POST or None)
    if request.method == "POST":
        if not services.is_owner(organization=organization, user=require_person(request.user)):
            raise PermissionRefused
        if request.POST.get("remove"):
            return _team_member_remove(request, team_)
        if form.is_valid():
            with page_errors.onto(form):
                services.team_member_add(
                    team=team_, actor=require_person(request.user), username=form.cleaned_data["username"]
                )
                messages.success(request, f"Added {form.cleaned_data['username']} to {team_.name}.")
                return redirect("team", name=name, slug=slug)
    context = {
        "organization": organization,
        "team": team_,
        "members": team_.members.order_by("username"),
        "form": form,
        "is_owner": services.is_owner(organization=organization, user=require_person(request.user)),
    }
    return render(request, "accounts/team.html", context)


def _team_member_remove(request: HttpRequest, team_: Any) -> HttpResponse:
    username = request.POST["remove"]
    if not confirmed(request):
        return confirm_page(
            request,
            title="Remove from team",
            question=f"Remove {username} from the team {team_.name}?",
            button="Remove from team",
            cancel=f"/orgs/{team_.organization.name}/teams/{team_.slug}",
        )
    services.team_member_remove(team=team_, actor=require_person(request.user), username=username)
    messages.success(request, f"Removed {username} from {team_.name}.")
    return redirect("team", name=team_.organization.name, slug=team_.slug)


@login_required
@require_POST
def package_policy(request: HttpRequest, name: str) -> HttpResponse:
    """The organization's package policy (owners): member visibilities, inheritance of new packages."""
    organization = _owned(request, name)
    with page_errors.as_message(request):
        services.organization_set_package_policy(
            organization=organization,
            actor=require_person(request.user),
            member_visibilities=request.POST.getlist("member_visibilities"),
            inherit_access_by_default=request.POST.get("inherit_access_by_default") == "on",
        )
        messages.success(request, "Package policy saved.")
    return redirect("organization", name=name)
