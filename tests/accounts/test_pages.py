"""Sign-up, sign-in and organization pages in the browser (REGISTRY.md "Accounts, tokens and login"):
alice owns acme, bob is a member, eve an outsider. Only owners change an organization; to anyone
outside it, its pages do not exist."""

from __future__ import annotations

from html import escape
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import Membership, Organization, Team

PASSWORD = "correct horse battery"


def signup(client: Client, username: str, email: str = "zed@example.com") -> Any:
    data = {
        "username": username,
        "email": email,
        "password1": "a long passphrase 1",
        "password2": "a long passphrase 1",
    }
    return client.post("/accounts/signup/", data)


def signed_in(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def text(response: Any) -> str:
    return str(response.content.decode())


def role_of(username: str, organization: str = "acme") -> str | None:
    membership = Membership.objects.filter(organization__name=organization, user__username=username).first()
    return membership.role if membership else None


# --- sign up, sign in, sign out -----------------------------------------------------------------


def test_signing_up_with_a_valid_username_creates_the_account_and_signs_in(client: Client, db: None) -> None:
    response = signup(client, "zed-42")
    assert response.status_code == 302
    assert response["Location"] == "/"
    user = get_user_model().objects.get(username="zed-42")
    assert user.email == "zed@example.com"
    assert client.get("/settings/tokens/").status_code == 200  # signed in


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("Zed", "Use lowercase letters only: image names are lowercase."),
        ("v2", "“v2” is reserved by the site."),
        ("admin", "“admin” is reserved by the site."),
        ("token", "“token” is reserved by the site."),
        ("ze_d", "Use lowercase letters, digits and single hyphens"),
        ("ze.d", "Use lowercase letters, digits and single hyphens"),
        ("-zed", "Use lowercase letters, digits and single hyphens"),
        ("ze--d", "Use lowercase letters, digits and single hyphens"),
        ("z" * 40, "at most 39 characters"),
        ("acme", "“acme” is already taken."),
    ],
)
def test_a_refused_username_reshows_the_form_with_the_input_and_the_reason(
    client: Client, owner: Any, username: str, message: str
) -> None:
    response = signup(client, username)
    assert response.status_code == 200
    page = text(response)
    assert escape(message, quote=False) in page
    assert f'value="{escape(username)}"' in page
    assert 'value="zed@example.com"' in page
    assert not get_user_model().objects.filter(username__iexact=username).exists()


def test_a_username_already_used_by_a_person_is_refused(client: Client, owner: Any) -> None:
    response = signup(client, "alice", email="other@example.com")
    assert response.status_code == 200
    assert "username is already taken" in text(response).lower() or "already exists" in text(response).lower()
    assert get_user_model().objects.filter(username="alice").count() == 1


def test_signing_in_with_username_or_email_and_signing_out(client: Client, owner: Any) -> None:
    for login in ("alice", "alice@example.com"):
        response = client.post("/accounts/login/", {"login": login, "password": PASSWORD})
        assert response.status_code == 302
        assert client.get("/settings/tokens/").status_code == 200
        response = client.post("/accounts/logout/")
        assert response.status_code == 302
        assert client.get("/settings/tokens/").status_code == 302


def test_a_wrong_password_does_not_sign_in(client: Client, owner: Any) -> None:
    response = client.post("/accounts/login/", {"login": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert "not correct" in text(response)
    assert 'value="alice"' in text(response)
    assert client.get("/settings/tokens/").status_code == 302


# --- organizations -----------------------------------------------------------------------------


def test_creating_an_organization_makes_its_creator_an_owner(client: Client, outsider: Any) -> None:
    signed_in(client, outsider)
    assert client.get("/orgs/new").status_code == 200
    response = client.post("/orgs/new", {"name": "evil-corp", "description": "We make things"})
    assert response.status_code == 302
    assert response["Location"] == "/orgs/evil-corp/"
    assert role_of("eve", "evil-corp") == Membership.Role.OWNER
    assert "We make things" in text(client.get("/orgs/evil-corp/"))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Evil", "Use lowercase letters only"),
        ("evil_corp", "Use lowercase letters, digits and single hyphens"),
        ("v2", "“v2” is reserved by the site."),
        ("settings", "“settings” is reserved by the site."),
        ("alice", "“alice” is already taken."),
        ("acme", "“acme” is already taken."),
    ],
)
def test_a_refused_organization_name_reshows_the_form_with_the_input_and_the_reason(
    client: Client, owner: Any, outsider: Any, name: str, message: str
) -> None:
    signed_in(client, outsider)
    response = client.post("/orgs/new", {"name": name, "description": "kept"})
    assert response.status_code == 200
    page = text(response)
    assert escape(message, quote=False) in page
    assert f'value="{name}"' in page
    assert 'value="kept"' in page
    assert not Membership.objects.filter(user=outsider).exists()


def test_organization_pages_need_a_signed_in_member(client: Client, member: Any, outsider: Any) -> None:
    response = client.get("/orgs/acme/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert signed_in(client, outsider).get("/orgs/acme/").status_code == 404
    assert client.get("/orgs/nothing/").status_code == 404
    page = signed_in(client, member).get("/orgs/acme/")
    assert page.status_code == 200
    assert "alice" in text(page)
    assert "bob" in text(page)
    assert "Add a member" not in text(page)  # the forms are for owners


def test_an_owner_adds_a_member(client: Client, owner: Any, outsider: Any) -> None:
    page = signed_in(client, owner).get("/orgs/acme/")
    assert "Add a member" in text(page)
    response = client.post("/orgs/acme/members", {"username": "eve", "role": "member"})
    assert response.status_code == 302
    assert role_of("eve") == Membership.Role.MEMBER


def test_adding_an_unknown_user_says_so(client: Client, owner: Any) -> None:
    response = signed_in(client, owner).post("/orgs/acme/members", {"username": "nobody", "role": "member"})
    assert response.status_code == 200
    assert "There is no user named “nobody”." in text(response)


def test_a_member_cannot_add_change_or_remove_members(client: Client, member: Any, outsider: Any) -> None:
    signed_in(client, member)
    assert client.post("/orgs/acme/members", {"username": "eve", "role": "owner"}).status_code == 403
    assert client.post("/orgs/acme/members", {"username": "", "role": "owner"}).status_code == 403
    assert client.post("/orgs/acme/members/bob", {"role": "owner"}).status_code == 403
    assert client.post("/orgs/acme/members/alice", {"remove": "1"}).status_code == 403
    assert (role_of("eve"), role_of("bob"), role_of("alice")) == (None, "member", "owner")


def test_an_outsider_gets_not_found_for_every_organization_action(client: Client, member: Any, outsider: Any) -> None:
    signed_in(client, outsider)
    assert client.post("/orgs/acme/members", {"username": "eve", "role": "owner"}).status_code == 404
    assert client.post("/orgs/acme/members/bob", {"remove": "1"}).status_code == 404
    assert client.post("/orgs/acme/teams", {"name": "spies"}).status_code == 404
    assert role_of("eve") is None
    assert role_of("bob") == "member"
    assert not Team.objects.exists()


def test_an_owner_changes_a_role_and_removes_a_member(client: Client, owner: Any, member: Any) -> None:
    signed_in(client, owner)
    assert client.post("/orgs/acme/members/bob", {"role": "owner"}).status_code == 302
    assert role_of("bob") == Membership.Role.OWNER
    assert client.post("/orgs/acme/members/bob", {"role": "member"}).status_code == 302
    assert role_of("bob") == Membership.Role.MEMBER
    assert client.post("/orgs/acme/members/bob", {"remove": "1", "confirm": "yes"}).status_code == 302
    assert role_of("bob") is None


def test_the_last_owner_can_be_neither_demoted_nor_removed(client: Client, owner: Any, member: Any) -> None:
    signed_in(client, owner)
    for data in ({"role": "member"}, {"remove": "1", "confirm": "yes"}):
        response = client.post("/orgs/acme/members/alice", data, follow=True)
        assert "An organization needs at least one owner." in text(response)
        assert role_of("alice") == Membership.Role.OWNER
    client.post("/orgs/acme/members/bob", {"role": "owner"})
    assert client.post("/orgs/acme/members/alice", {"role": "member"}).status_code == 302
    assert role_of("alice") == Membership.Role.MEMBER


def test_an_owner_creates_a_team_and_adds_a_member(client: Client, owner: Any, member: Any, outsider: Any) -> None:
    signed_in(client, owner)
    assert client.post("/orgs/acme/teams", {"name": "Core Devs"}).status_code == 302
    team = Team.objects.get(organization__name="acme")
    assert (team.name, team.slug) == ("Core Devs", "core-devs")
    assert client.post("/orgs/acme/teams/core-devs", {"username": "bob"}).status_code == 302
    assert list(team.members.values_list("username", flat=True)) == ["bob"]
    refused = client.post("/orgs/acme/teams/core-devs", {"username": "eve"})
    assert refused.status_code == 200
    assert "eve is not a member of acme." in text(refused)
    assert "bob" in text(client.get("/orgs/acme/teams/core-devs"))


def test_a_duplicate_team_name_is_refused(client: Client, owner: Any) -> None:
    signed_in(client, owner)
    client.post("/orgs/acme/teams", {"name": "Core"})
    response = client.post("/orgs/acme/teams", {"name": "core"})
    assert response.status_code == 200
    assert "A team “core” already exists." in text(response)
    assert Team.objects.count() == 1


def test_only_owners_manage_teams(client: Client, owner: Any, member: Any, outsider: Any) -> None:
    team = Team.objects.create(organization=Organization.objects.get(name="acme"), name="Core", slug="core")
    signed_in(client, member)
    assert client.get("/orgs/acme/teams/core").status_code == 200
    assert client.post("/orgs/acme/teams", {"name": "Mine"}).status_code == 403
    assert client.post("/orgs/acme/teams", {"name": ""}).status_code == 403
    assert client.post("/orgs/acme/teams/core", {"username": "bob"}).status_code == 403
    signed_in(client, outsider)
    assert client.get("/orgs/acme/teams/core").status_code == 404
    assert client.post("/orgs/acme/teams/core", {"username": "eve"}).status_code == 404
    assert not team.members.exists()
    assert Team.objects.count() == 1


def test_removing_a_member_takes_them_out_of_the_teams(client: Client, owner: Any, member: Any) -> None:
    team = Team.objects.create(organization=Organization.objects.get(name="acme"), name="Core", slug="core")
    team.members.add(member)
    signed_in(client, owner).post("/orgs/acme/members/bob", {"remove": "1", "confirm": "yes"})
    assert not team.members.exists()


def test_organization_changes_need_the_csrf_token(owner: Any, outsider: Any) -> None:
    client = signed_in(Client(enforce_csrf_checks=True), owner)
    assert client.post("/orgs/acme/members", {"username": "eve", "role": "owner"}).status_code == 403
    assert client.post("/orgs/new", {"name": "other"}).status_code == 403
    assert role_of("eve") is None
    assert not Organization.objects.filter(name="other").exists()


def test_the_organization_page_title_is_just_its_name(client: Any, owner: Any) -> None:
    client.force_login(owner)
    html = client.get("/orgs/acme/").content.decode()
    title = html.split("<title>", 1)[1].split("</title>", 1)[0]
    assert title.strip().startswith("acme")
    assert "<form" not in title
    assert html.count('id="package-policy"') == 1
