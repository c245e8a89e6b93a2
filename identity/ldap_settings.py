"""django-auth-ldap's settings from ``WHARF_LDAP_*`` variables (read by registry_site.settings only when
``WHARF_LDAP_URI`` is set, so python-ldap is needed only where LDAP is used)."""

from __future__ import annotations

import os
from typing import Any

import django_auth_ldap.config
import ldap

# python-ldap's constants live in its C module and django-auth-ldap has no annotations: mypy sees
# neither, so both are used through names typed Any, here only.
_LDAP: Any = ldap
_CONFIG: Any = django_auth_ldap.config


def ldap_settings(env: dict[str, str] | None = None) -> dict[str, Any]:
    env = dict(os.environ) if env is None else env
    found: dict[str, Any] = {
        "AUTH_LDAP_SERVER_URI": env["WHARF_LDAP_URI"],
        "AUTH_LDAP_BIND_DN": env.get("WHARF_LDAP_BIND_DN", ""),
        "AUTH_LDAP_BIND_PASSWORD": env.get("WHARF_LDAP_BIND_PASSWORD", ""),
        "AUTH_LDAP_START_TLS": env.get("WHARF_LDAP_START_TLS", "").lower() in {"1", "true", "yes", "on"},
        "AUTH_LDAP_USER_ATTR_MAP": {"first_name": "givenName", "last_name": "sn", "email": "mail"},
        "AUTH_LDAP_CONNECTION_OPTIONS": {_LDAP.OPT_NETWORK_TIMEOUT: 5, _LDAP.OPT_REFERRALS: 0},
    }
    if env.get("WHARF_LDAP_USER_DN_TEMPLATE"):
        found["AUTH_LDAP_USER_DN_TEMPLATE"] = env["WHARF_LDAP_USER_DN_TEMPLATE"]
    else:
        user_filter = env.get("WHARF_LDAP_USER_FILTER") or "(uid=%(user)s)"
        found["AUTH_LDAP_USER_SEARCH"] = _CONFIG.LDAPSearch(
            env["WHARF_LDAP_USER_SEARCH_BASE"], _LDAP.SCOPE_SUBTREE, user_filter
        )
    if env.get("WHARF_LDAP_GROUP_SEARCH_BASE"):
        posix = env.get("WHARF_LDAP_GROUP_TYPE", "groupOfNames").lower() == "posixgroup"
        object_class = "posixGroup" if posix else "groupOfNames"
        found["AUTH_LDAP_GROUP_SEARCH"] = _CONFIG.LDAPSearch(
            env["WHARF_LDAP_GROUP_SEARCH_BASE"], _LDAP.SCOPE_SUBTREE, f"(objectClass={object_class})"
        )
        found["AUTH_LDAP_GROUP_TYPE"] = _CONFIG.PosixGroupType() if posix else _CONFIG.GroupOfNamesType()
    return found
