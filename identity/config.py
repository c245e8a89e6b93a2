"""Identity providers from environment variables: OpenID Connect providers and LDAP, with the rules that
map a provider's groups to organization (and team) memberships. Plain Python: ``registry_site.settings``
reads it before Django is set up.

Group mapping, ``WHARF_OIDC_<ID>_GROUP_MAP`` and ``WHARF_LDAP_GROUP_MAP``: entries separated by ``;``,
each ``GROUP=ORG[/TEAM]:ROLE`` with ROLE ``owner`` or ``member``, e.g.
``wharf-admins=acme:owner;developers=acme/backend:member``. A group may appear in several entries.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

_ENTRY = re.compile(
    r"^\s*(?P<group>[^=;]+?)\s*=\s*(?P<org>[a-z0-9-]+)(?:/(?P<team>[a-z0-9-]+))?:(?P<role>owner|member)\s*$"
)


@dataclass(frozen=True)
class GroupRule:
    group: str
    organization: str
    team: str
    role: str  # "owner" or "member"


def parse_group_map(text: str) -> list[GroupRule]:
    """The rules of a ``GROUP=ORG[/TEAM]:ROLE;…`` value; ValueError names a malformed entry."""
    rules = []
    for entry in (e for e in text.split(";") if e.strip()):
        match = _ENTRY.match(entry)
        if match is None:
            raise ValueError(f"group map entry {entry.strip()!r} is not GROUP=ORG[/TEAM]:owner|member")
        rules.append(GroupRule(match["group"], match["org"], match["team"] or "", match["role"]))
    return rules


@dataclass(frozen=True)
class OIDCProvider:
    id: str
    name: str
    issuer: str
    client_id: str
    client_secret: str
    scopes: list[str]
    groups_claim: str
    group_map: list[GroupRule]

    def allauth_app(self) -> dict[str, Any]:
        """One entry of allauth's ``SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"]``."""
        return {
            "provider_id": self.id,
            "name": self.name,
            "client_id": self.client_id,
            "secret": self.client_secret,
            "settings": {"server_url": self.issuer, "scope": self.scopes, "token_auth_method": "client_secret_post"},
        }


def oidc_providers(env: dict[str, str] | None = None) -> list[OIDCProvider]:
    """``WHARF_OIDC_PROVIDERS=corp,partner`` and, per id, ``WHARF_OIDC_<ID>_ISSUER``, ``_CLIENT_ID``,
    ``_CLIENT_SECRET`` (required), ``_NAME``, ``_SCOPES``, ``_GROUPS_CLAIM``, ``_GROUP_MAP`` (optional)."""
    env = dict(os.environ) if env is None else env
    providers = []
    for provider_id in (p.strip().lower() for p in env.get("WHARF_OIDC_PROVIDERS", "").split(",") if p.strip()):
        prefix = f"WHARF_OIDC_{provider_id.upper().replace('-', '_')}_"
        missing = [k for k in ("ISSUER", "CLIENT_ID", "CLIENT_SECRET") if not env.get(prefix + k)]
        if missing:
            raise ValueError(f"OpenID provider {provider_id!r} needs {', '.join(prefix + k for k in missing)}")
        providers.append(
            OIDCProvider(
                id=provider_id,
                name=env.get(prefix + "NAME") or provider_id,
                issuer=env[prefix + "ISSUER"].rstrip("/"),
                client_id=env[prefix + "CLIENT_ID"],
                client_secret=env[prefix + "CLIENT_SECRET"],
                scopes=(env.get(prefix + "SCOPES") or "openid profile email").split(),
                groups_claim=env.get(prefix + "GROUPS_CLAIM") or "groups",
                group_map=parse_group_map(env.get(prefix + "GROUP_MAP", "")),
            )
        )
    return providers
