"""allauth hooks: usernames follow the namespace rules and share the namespace with organizations."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.http import HttpRequest

from errors import InvalidInput
from throttling.addresses import client_address

from .models import Organization
from .namespaces import validate_namespace_syntax


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request: HttpRequest) -> str:
        """allauth's per-address login limits count the address the registry's limits count
        (``throttling.addresses``: behind ``WHARF_TRUSTED_PROXIES``, the forwarded client)."""
        return client_address(request) or super().get_client_ip(request)

    def clean_username(self, username: str, shallow: bool = False) -> Any:
        try:
            validate_namespace_syntax(username)
        except InvalidInput as exc:
            raise forms.ValidationError(exc.message) from exc
        if Organization.objects.filter(name__iexact=username).exists():
            raise forms.ValidationError(f"“{username}” is already taken.")
        return super().clean_username(username, shallow=shallow)
