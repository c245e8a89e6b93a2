from __future__ import annotations

from django import forms

from packages_app.events import EVENTS


class WebhookForm(forms.Form):
    url = forms.CharField(label="Payload URL", max_length=2000)
    secret = forms.CharField(
        label="Secret", required=False, max_length=255, widget=forms.PasswordInput(render_value=False)
    )
    events = forms.MultipleChoiceField(
        choices=[(e, e) for e in EVENTS], widget=forms.CheckboxSelectMultiple, initial=["package.published"]
    )
    active = forms.BooleanField(required=False, initial=True)
