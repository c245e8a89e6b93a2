from __future__ import annotations

from django import forms

from .models import Membership


class OrganizationForm(forms.Form):
    name = forms.CharField(
        max_length=39, help_text="Lowercase letters, digits and hyphens. Images will be named NAME/IMAGE."
    )
    description = forms.CharField(max_length=255, required=False)


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150, label="Add a member (username)")
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)


class TeamForm(forms.Form):
    name = forms.CharField(max_length=100, label="Team name")


class TeamMemberForm(forms.Form):
    username = forms.CharField(max_length=150, label="Add a member (username)")
