from __future__ import annotations

from typing import Any

from django import forms

from tokens_app.reach import split_names

from .models import TrustedIssuer


class TrustedIssuerForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="A name for this CI system, e.g. github-actions.")
    issuer = forms.CharField(
        max_length=500,
        label="Issuer URL",
        help_text="The iss of its tokens, e.g. https://token.actions.githubusercontent.com",
    )
    audience = forms.CharField(max_length=255, help_text="The aud your CI job requests its token for.")
    rule = forms.CharField(
        max_length=1000,
        label="Claim rule",
        help_text='Claims the token must carry, e.g. repository == "acme/api" and ref == "refs/heads/main".',
    )
    repository = forms.CharField(
        max_length=100, required=False, help_text="Bind to one of the organization's repositories (its name)…"
    )
    packages = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="…or to chosen packages (full names)."
    )
    role = forms.TypedChoiceField(choices=TrustedIssuer.Role.choices, coerce=int, initial=TrustedIssuer.Role.WRITE)

    def arguments(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["packages"] = split_names(data.get("packages") or "")
        return data
