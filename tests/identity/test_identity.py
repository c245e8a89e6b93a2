"""Sign-in providers' configuration, group mapping and e-mail linking (identity/); the real provider
flows are in tests/e2e/test_oidc_signin.py."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from allauth.account.models import EmailAddress

from accounts.models import Membership, Organization, Team
from identity.adapter import SocialAccountAdapter, name_problem
from identity.config import GroupRule, oidc_providers, parse_group_map
from identity.mapping import apply_groups
from packages_app.models import AuditEvent

MAP = "admins=acme:owner; devs=acme/backend:member;devs=ghost-org:member"


def test_a_group_map_reads_organizations_teams_and_roles() -> None:
    assert parse_group_map(MAP) == [
        GroupRule("admins", "acme", "", "owner"),
        GroupRule("devs", "acme", "backend", "member"),
        GroupRule("devs", "ghost-org", "", "member"),
    ]
    with pytest.raises(ValueError, match="not GROUP=ORG"):
        parse_group_map("admins=acme:boss")


def test_providers_come_from_the_environment_and_missing_values_are_named() -> None:
    env = {"WHARF_OIDC_PROVIDERS": "corp, partner", "WHARF_OIDC_CORP_ISSUER": "https://id.corp.example/",
           "WHARF_OIDC_CORP_CLIENT_ID": "wharf", "WHARF_OIDC_CORP_CLIENT_SECRET": "s", "WHARF_OIDC_CORP_NAME": "Corp",
           "WHARF_OIDC_PARTNER_ISSUER": "https://id.partner.example", "WHARF_OIDC_PARTNER_CLIENT_ID": "w",
           "WHARF_OIDC_PARTNER_CLIENT_SECRET": "t", "WHARF_OIDC_PARTNER_GROUP_MAP": MAP}  # fmt: skip
    corp, partner = oidc_providers(env)
    assert corp.allauth_app()["settings"]["server_url"] == "https://id.corp.example"
    assert (corp.name, corp.scopes, corp.groups_claim, corp.group_map) == (
        "Corp",
        ["openid", "profile", "email"],
        "groups",
        [],
    )
    assert partner.name == "partner"
    assert len(partner.group_map) == 3
    with pytest.raises(ValueError, match="WHARF_OIDC_CORP_CLIENT_SECRET"):
        oidc_providers({k: v for k, v in env.items() if k != "WHARF_OIDC_CORP_CLIENT_SECRET"})


def test_groups_add_memberships_and_teams_and_never_demote(owner: Any, member: Any) -> None:
    rules = parse_group_map(MAP)
    changes = apply_groups(user=member, groups=["admins", "devs"], rules=rules, via="Corp SSO")
    assert changes == ["acme:owner", "acme/backend"]
    assert Membership.objects.get(organization__name="acme", user=member).role == "owner"
    assert Team.objects.get(organization__name="acme", slug="backend").members.filter(id=member.id).exists()
    assert not Organization.objects.filter(name="ghost-org").exists()  # a mapping never takes a namespace
    assert AuditEvent.objects.filter(namespace="acme", actor="Corp SSO").count() == 2

    assert apply_groups(user=member, groups=["devs"], rules=rules, via="Corp SSO") == []
    assert Membership.objects.get(organization__name="acme", user=member).role == "owner"


def test_a_new_person_joins_as_the_mapped_member(owner: Any, outsider: Any) -> None:
    assert apply_groups(user=outsider, groups=["devs"], rules=parse_group_map(MAP), via="LDAP") == [
        "acme:member", "acme/backend",
    ]  # fmt: skip
    assert Membership.objects.get(organization__name="acme", user=outsider).role == "member"


def _login(email: str, verified: bool) -> Any:
    app = SimpleNamespace(settings={})
    return SimpleNamespace(
        email_addresses=[EmailAddress(email=email, verified=verified)], provider=SimpleNamespace(app=app)
    )


def test_a_provider_links_to_a_local_account_only_when_both_verified_the_address(outsider: Any, settings: Any) -> None:
    settings.SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
    adapter = SocialAccountAdapter()
    EmailAddress.objects.create(user=outsider, email="eve@example.com", verified=False, primary=True)
    assert adapter.authenticate_by_email(_login("eve@example.com", verified=True)) is None
    EmailAddress.objects.filter(user=outsider).update(verified=True)
    assert adapter.authenticate_by_email(_login("eve@example.com", verified=False)) is None
    assert adapter.authenticate_by_email(_login("EVE@example.com", verified=True)) == (outsider, "EVE@example.com")


def test_a_preferred_name_follows_the_namespace_rules(owner: Any) -> None:
    assert name_problem("carol") == ""
    assert "already taken" in name_problem("alice")
    assert "already taken" in name_problem("acme")
    assert "reserved" in name_problem("admin")
    assert name_problem("Not_Valid")
