"""allauth's social accounts (OpenID Connect sign-in) under Wharf's rules.

* Linking by verified e-mail only: a provider's sign-in reaches an existing local account only when the
  provider says the address is verified *and* the local account verified it too; otherwise nothing is
  merged and the person picks a namespace of their own (allauth's sign-up form, which refuses an address
  already in use).
* The first sign-in creates the person's namespace from ``preferred_username`` under the usual name rules;
  when that name is invalid or taken the sign-up form asks for another and says why.
"""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.contrib import messages
from django.http import HttpRequest

from accounts.namespaces import validate_new_namespace
from errors import InvalidInput


def preferred_name(sociallogin: Any) -> str:
    """The namespace a provider suggests: ``preferred_username`` (else the e-mail's local part), lowercased."""
    data = sociallogin.account.extra_data or {}
    claims = data.get("userinfo") or data.get("id_token") or data
    name = claims.get("preferred_username") or (claims.get("email") or "").split("@")[0]
    return str(name).strip().lower()


def name_problem(name: str) -> str:
    """Why ``name`` cannot be the new namespace ("" when it can)."""
    try:
        validate_new_namespace(name)
    except InvalidInput as exc:
        return exc.message
    return ""


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def authenticate_by_email(self, sociallogin: Any) -> Any:
        for address in (e for e in sociallogin.email_addresses if e.verified):
            local = EmailAddress.objects.filter(email__iexact=address.email, verified=True).select_related("user")
            found = local.first()
            if found is not None and self.can_authenticate_by_email(sociallogin, address.email):
                return found.user, address.email
        return None

    def populate_user(self, request: HttpRequest, sociallogin: Any, data: dict[str, Any]) -> Any:
        user = super().populate_user(request, sociallogin, data)
        name = preferred_name(sociallogin)
        user.username = name if not name_problem(name) else ""
        return user

    def is_auto_signup_allowed(self, request: HttpRequest, sociallogin: Any) -> bool:
        name = preferred_name(sociallogin)
        problem = name_problem(name)
        if problem:
            messages.warning(request, f"Your provider suggests the name “{name}”: {problem} Choose another one.")
            return False
        return bool(super().is_auto_signup_allowed(request, sociallogin))
