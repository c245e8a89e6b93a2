"""LDAP sign-in (django-auth-ldap) beside local accounts and OpenID providers.

The first LDAP sign-in of a name creates its account (and namespace) under the usual name rules and
records it as the directory's (``LDAPAccount``); later sign-ins of that name reach only that account. A
name already held by a local account, a provider's account or an organization is refused: they are never
merged silently. The directory's groups go through ``WHARF_LDAP_GROUP_MAP`` (identity.mapping) at each
sign-in. People signing in with LDAP keep their directory password out of Wharf: ``docker login`` takes a
personal access token.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django_auth_ldap.backend import LDAPBackend

from .adapter import name_problem
from .mapping import apply_groups
from .models import LDAPAccount

log = logging.getLogger(__name__)


def _refuse(ldap_user: Any, why: str) -> None:
    log.warning("LDAP sign-in refused: %s", why)
    request = getattr(ldap_user, "_request", None)
    if request is not None and hasattr(request, "_messages"):
        messages.error(request, why)
    raise ldap_user.AuthenticationFailed(why)


class WharfLDAPBackend(LDAPBackend):
    def ldap_to_django_username(self, username: str) -> str:
        return username.strip().lower()

    def get_or_build_user(self, username: str, ldap_user: Any) -> tuple[Any, bool]:
        """The directory's own account for ``username``, or a new one; refused (this backend answers no
        one) when the name belongs to someone else, with a message saying so."""
        existing = get_user_model().objects.filter(username__iexact=username).first()
        if existing is not None:
            if not LDAPAccount.objects.filter(user=existing).exists():
                _refuse(
                    ldap_user, f"“{username}” is a Wharf account, not the directory's: sign in with its own password."
                )
            return existing, False
        if problem := name_problem(username):
            _refuse(ldap_user, f"The directory's “{username}” cannot have an account here: {problem}")
        user = get_user_model()(username=username)
        user.set_unusable_password()
        return user, True

    def authenticate_ldap_user(self, ldap_user: Any, password: str) -> Any:
        user = super().authenticate_ldap_user(ldap_user, password)  # type: ignore[no-untyped-call]  # django-auth-ldap
        if user is None:
            return None
        LDAPAccount.objects.get_or_create(user=user, defaults={"dn": ldap_user.dn})
        if settings.WHARF_LDAP_GROUP_MAP:
            groups = sorted(ldap_user.group_names)
            apply_groups(user=user, groups=groups, rules=settings.WHARF_LDAP_GROUP_MAP, via="LDAP")
        return user
