from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from .models import Scope
from .reach import split_names

EXPIRY_CHOICES = [
    ("7", "7 days"),
    ("30", "30 days"),
    ("60", "60 days"),
    ("90", "90 days"),
    ("custom", "Custom date"),
    ("none", "No expiration"),
]


REACH_CHOICES = [
    ("all", "All packages you can access"),
    ("organization", "Only the packages of one organization"),
    ("packages", "Only chosen packages"),
]


class TokenForm(forms.Form):
    note = forms.CharField(max_length=100, help_text="What is this token for?")
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple)
    expiration = forms.ChoiceField(choices=EXPIRY_CHOICES, initial="30")
    expires_on = forms.DateField(required=False, label="Expires on", widget=forms.DateInput(attrs={"type": "date"}))
    reach = forms.ChoiceField(choices=REACH_CHOICES, initial="all", required=False, widget=forms.RadioSelect)
    organization = forms.ChoiceField(required=False, choices=[])
    packages = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "acme/api\nacme/worker"}),
        help_text="Full package names, one per line (or separated by commas).",
    )

    def __init__(self, *args: Any, organizations: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["organization"])
        field.choices = [("", "—")] + [(name, name) for name in organizations or []]

    def reach_arguments(self) -> dict[str, Any]:
        """``packages`` / ``organization`` for ``token_create``, by the chosen reach."""
        reach = self.cleaned_data["reach"]
        if reach == "organization":
            return {"organization": self.cleaned_data["organization"] or "-"}
        if reach == "packages":
            names = split_names(self.cleaned_data["packages"])
            if not names:
                raise ValidationError("Name at least one package.", code="packages")
            return {"packages": names}
        return {}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        choice = data.get("expiration")
        if choice == "custom":
            day = data.get("expires_on")
            if day is None:
                self.add_error("expires_on", "Pick the date the token expires.")
            elif day <= timezone.localdate():
                self.add_error("expires_on", "The expiry date must be in the future.")
            else:
                data["expires_at"] = timezone.make_aware(datetime.combine(day, time.min))
        elif choice == "none":
            data["expires_at"] = None
        elif choice:
            data["expires_at"] = timezone.now() + timedelta(days=int(choice))
        return data
