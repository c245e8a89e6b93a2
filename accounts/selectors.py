"""Reads for organizations: what a person may see of them."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import Http404

from .models import Membership, Organization, Team
from .roles import Viewer


def organization_for_member(*, name: str, user: Viewer) -> Organization:
    """An organization whose pages ``user`` may see (members only; others get the same 404 as a missing one)."""
    organization = Organization.objects.filter(name=name).first()
    if organization is None or not user.is_authenticated or not is_member(organization=organization, user=user):
        raise Http404("No such organization")
    return organization


def is_member(*, organization: Organization, user: User) -> bool:
    return Membership.objects.filter(organization=organization, user=user).exists()


def organizations_of(*, user: User) -> QuerySet[Organization]:
    return Organization.objects.filter(memberships__user=user).order_by("name")


def memberships_of(*, organization: Organization) -> QuerySet[Membership]:
    return Membership.objects.filter(organization=organization).select_related("user").order_by("user__username")


def team_of(*, organization: Organization, slug: str) -> Team:
    team = Team.objects.filter(organization=organization, slug=slug).first()
    if team is None:
        raise Http404("No such team")
    return team
