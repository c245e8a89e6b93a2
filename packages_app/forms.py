"""Forms of the package settings pages."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from .models import Package, Visibility

VISIBILITY_HELP = {
    Visibility.PRIVATE: "Only people and teams you grant access can see and pull it.",
    Visibility.INTERNAL: "Every member of the organization can see and pull it.",
    Visibility.PUBLIC: "Anyone can see and pull it, without signing in. This cannot be undone.",
}


class VisibilityForm(forms.Form):
    """Choose a visibility; going public is final (as on ghcr.io), so it needs the package's name typed."""

    visibility = forms.ChoiceField(widget=forms.RadioSelect)
    confirm = forms.CharField(required=False, max_length=255, label="Type the package's name to make it public")

    def __init__(self, *args: Any, package: Package, organization: bool, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"visibility": package.visibility})
        super().__init__(*args, **kwargs)
        self.package = package
        choices = [v for v in Visibility if organization or v != Visibility.INTERNAL or package.visibility == v]
        field = cast(forms.ChoiceField, self.fields["visibility"])
        field.choices = [(v.value, v.label) for v in choices]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        going_public = data.get("visibility") == Visibility.PUBLIC and self.package.visibility != Visibility.PUBLIC
        if going_public and (data.get("confirm") or "").strip() != self.package.name:
            self.add_error(
                "confirm", f"Type “{self.package.name}” to confirm: a public package cannot be made private again."
            )
        return data
