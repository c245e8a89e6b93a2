from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from .models import Scope

EXPIRY_CHOICES = [
    ("7", "7 days"),
    ("30", "30 days"),
    ("60", "60 days"),
    ("90", "90 days"),
    ("custom", "Custom date"),
    ("none", "No expiration"),
]


class TokenForm(forms.Form):
    note = forms.CharField(max_length=100, help_text="What is this token for?")
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple)
    expiration = forms.ChoiceField(choices=EXPIRY_CHOICES, initial="30")
    expires_on = forms.DateField(required=False, label="Expires on", widget=forms.DateInput(attrs={"type": "date"}))

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
