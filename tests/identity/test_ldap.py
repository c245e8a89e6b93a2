"""LDAP sign-in (identity.ldap) against a real slapd: accounts made on first sign-in, groups mapped,
and a local account and a directory account of the same name never merged."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.test import Client

from accounts.models import Membership, Team
from identity.config import parse_group_map
from identity.ldap_settings import ldap_settings
from identity.models import LDAPAccount
from tests.ldap_directory import PASSWORDS, Directory
from tests.ldap_directory import ldap_directory as ldap_directory  # the fixture

GROUP_MAP = "acme-admins=acme:owner;acme-devs=acme/backend:member"


@pytest.fixture
def with_ldap(settings: Any, ldap_directory: Directory) -> Directory:
    for name, value in ldap_settings(ldap_directory.env(GROUP_MAP)).items():
        setattr(settings, name, value)
    settings.WHARF_LDAP_GROUP_MAP = parse_group_map(GROUP_MAP)
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, "identity.ldap.WharfLDAPBackend"]
    return ldap_directory


def test_the_first_ldap_sign_in_makes_the_account_and_maps_its_groups(with_ldap: Directory, owner: Any) -> None:
    user = authenticate(username="dan", password=PASSWORDS["dan"])

    assert user is not None
    assert user.username == "dan"
    assert user.email == "dan@corp.example"
    assert not user.has_usable_password()
    assert LDAPAccount.objects.get(user=user).dn == "uid=dan,ou=people,dc=corp,dc=example"
    assert Membership.objects.get(organization__name="acme", user=user).role == "owner"
    assert Team.objects.get(organization__name="acme", slug="backend").members.filter(id=user.id).exists()
    assert authenticate(username="dan", password=PASSWORDS["dan"]) == user  # the same account next time
    assert authenticate(username="dan", password="wrong") is None


def test_a_directory_account_never_takes_over_a_local_one_of_the_same_name(
    with_ldap: Directory, owner: Any, client: Client
) -> None:
    assert authenticate(username="alice", password=PASSWORDS["alice"]) is None
    assert not LDAPAccount.objects.exists()
    assert authenticate(username="alice", password="correct horse battery") == owner

    page = client.post("/accounts/login/", {"login": "alice", "password": PASSWORDS["alice"]})
    assert page.status_code == 200
    assert "is a Wharf account, not the directory" in page.content.decode()


def test_the_sign_in_page_signs_a_directory_user_in(with_ldap: Directory, owner: Any, client: Client) -> None:
    page = client.post("/accounts/login/", {"login": "dan", "password": PASSWORDS["dan"]})
    assert page.status_code == 302, page.content.decode()[-3000:]
    assert client.get("/settings/tokens/").status_code == 200
