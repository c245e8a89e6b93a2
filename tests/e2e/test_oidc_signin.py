"""OpenID Connect sign-in in a real Chromium, through a real OpenID provider (node-oidc-provider), against a
real closed Wharf: carol signs in with the provider, lands in ``acme`` as the owner its group map gives
her (and in the team ``backend``), creates a token on the token page, which tells her she has no password
for docker, and pushes with ``docker login``. A provider user whose preferred name is taken is told so and
picks another; a local account still signs in with its password. Then dan signs in with his password in
a real LDAP directory (slapd), lands in the team its group map gives him and pushes likewise; the
directory's own "alice" is refused rather than merged into the local alice."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from playwright.sync_api import Browser, Page, expect

from accounts.models import Membership, Team
from packages_app.models import Package
from tests.e2e.conftest import ROOT, DockerEngine, WharfServer, serving
from tests.e2e.oidc_idp import idp_port as idp_port  # the fixture
from tests.e2e.oidc_idp import idp_running, oidc_env
from tests.e2e.test_browser import LAPTOP, create_token, shot
from tests.e2e.test_browser import async_unsafe_orm as async_unsafe_orm  # the fixture
from tests.e2e.test_docker import build_context, pushed_digest
from tests.ldap_directory import PASSWORDS, Directory
from tests.ldap_directory import ldap_directory as ldap_directory  # the fixture

pytestmark = pytest.mark.e2e
GROUP_MAP = "acme-admins=acme:owner;acme-devs=acme/backend:member"
LDAP_GROUP_MAP = "acme-devs=acme/platform:member"
USERS = {
    "carol": {
        "password": "carol's idp password",
        "claims": {"email": "carol@corp.example", "email_verified": True, "preferred_username": "carol",
                   "name": "Carol", "groups": ["acme-admins", "acme-devs"]},
    },
    "alice2": {
        "password": "alice2's idp password",
        "claims": {"email": "alice@corp.example", "email_verified": True, "preferred_username": "alice",
                   "groups": ["acme-devs"]},
    },
}  # fmt: skip


@pytest.fixture
def oidc_site(
    transactional_db: None, settings: Any, tmp_path: Path, idp_port: int, owner: Any, ldap_directory: Directory
) -> Iterator[WharfServer]:
    """A closed Wharf (static files collected) trusting the test IdP ``corp`` and the test LDAP directory,
    and the IdP itself."""
    env = oidc_env(f"http://127.0.0.1:{idp_port}", GROUP_MAP) | ldap_directory.env(LDAP_GROUP_MAP)
    with serving(settings, tmp_path, anonymous_push=False, extra_env=env) as server:
        done = subprocess.run(
            [str(ROOT / ".venv/bin/python"), "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT, env=server.env(), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        server.restart()
        for _idp in idp_running(tmp_path, idp_port, server.host, USERS):
            yield server


def sign_in_with_corp(page: Page, login: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Corp SSO").click()
    page.locator("main form button[type=submit]").click()  # allauth's "continue to the provider" step
    page.fill("#login", login)
    page.fill("#password", str(USERS[login]["password"]))
    page.click("#submit")


def test_provider_ldap_and_local_accounts_sign_in_side_by_side(
    browser: Browser, oidc_site: WharfServer, docker_engine: DockerEngine, owner: Any, tmp_path: Path, settings: Any
) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]  # the server's
    owner.set_password("correct horse battery")
    owner.save()
    a_local_account_still_signs_in_with_its_password(fresh_page(browser, oidc_site))
    the_provider_lands_carol_in_the_mapped_organization_and_she_pushes(
        fresh_page(browser, oidc_site), oidc_site, docker_engine, tmp_path
    )
    a_taken_preferred_name_is_explained_and_another_is_chosen(fresh_page(browser, oidc_site))
    the_directory_signs_dan_in_as_a_mapped_member_and_he_pushes(
        fresh_page(browser, oidc_site), oidc_site, docker_engine, tmp_path
    )
    the_directorys_alice_is_refused_and_the_local_alice_kept(fresh_page(browser, oidc_site))


def fresh_page(browser: Browser, server: WharfServer) -> Page:
    return browser.new_context(base_url=f"http://{server.host}", viewport=LAPTOP).new_page()


def the_provider_lands_carol_in_the_mapped_organization_and_she_pushes(
    page: Page, server: WharfServer, docker_engine: DockerEngine, tmp_path: Path
) -> None:
    sign_in_with_corp(page, "carol")
    expect(page.locator(".topbar")).to_contain_text("carol")
    carol = get_user_model().objects.get(username="carol")
    assert not carol.has_usable_password()
    assert Membership.objects.get(organization__name="acme", user=carol).role == "owner"
    assert Team.objects.get(organization__name="acme", slug="backend").members.filter(id=carol.id).exists()

    page.goto("/orgs/acme/")
    expect(page.locator("main")).to_contain_text("carol")
    shot(page, "oidc-organization")
    page.goto("/settings/tokens/")
    expect(page.locator("#no-password-note")).to_contain_text("no Wharf password")
    token = create_token(page)
    shot(page, "oidc-token")

    host, ref = server.host, f"{server.host}/acme/sso-app:v1"
    docker_engine.run("login", host, "-u", "carol", "-p", token)
    docker_engine.run("build", "-q", "-t", ref, str(build_context(tmp_path / "ctx", "oidc", {"a": "b"})))
    digest = pushed_digest(docker_engine.run("push", ref))
    assert Package.objects.get(name="acme/sso-app").manifests.get().digest == digest
    docker_engine.run("logout", host)


def sign_in_with_password(page: Page, login: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    page.locator("main form button[type=submit]").first.click()


def the_directory_signs_dan_in_as_a_mapped_member_and_he_pushes(
    page: Page, server: WharfServer, docker_engine: DockerEngine, tmp_path: Path
) -> None:
    sign_in_with_password(page, "dan", PASSWORDS["dan"])
    expect(page.locator(".topbar")).to_contain_text("dan")
    dan = get_user_model().objects.get(username="dan")
    assert dan.email == "dan@corp.example"
    assert not dan.has_usable_password()
    assert Membership.objects.get(organization__name="acme", user=dan).role == "member"
    assert Team.objects.get(organization__name="acme", slug="platform").members.filter(id=dan.id).exists()
    page.goto("/settings/tokens/")
    expect(page.locator("#no-password-note")).to_be_visible()
    token = create_token(page)
    shot(page, "ldap-token")
    host, ref = server.host, f"{server.host}/dan/tool:v1"
    docker_engine.run("login", host, "-u", "dan", "-p", token)
    docker_engine.run("build", "-q", "-t", ref, str(build_context(tmp_path / "ldap-ctx", "ldap", {"a": "b"})))
    digest = pushed_digest(docker_engine.run("push", ref))
    assert Package.objects.get(name="dan/tool").manifests.get().digest == digest
    docker_engine.run("logout", host)


def the_directorys_alice_is_refused_and_the_local_alice_kept(page: Page) -> None:
    sign_in_with_password(page, "alice", PASSWORDS["alice"])
    expect(page.locator("main")).to_contain_text("is a Wharf account, not the directory")
    shot(page, "ldap-same-name-refused")
    assert not get_user_model().objects.filter(username="alice", ldap_account__isnull=False).exists()


def a_taken_preferred_name_is_explained_and_another_is_chosen(page: Page) -> None:
    sign_in_with_corp(page, "alice2")
    expect(page.locator("main")).to_contain_text("“alice” is already taken")
    shot(page, "oidc-name-taken")
    page.fill("input[name=username]", "alice-corp")
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".topbar")).to_contain_text("alice-corp")
    newcomer = get_user_model().objects.get(username="alice-corp")
    assert newcomer.email == "alice@corp.example"
    assert not SocialAccount.objects.filter(user__username="alice").exists()  # nothing merged
    assert SocialAccount.objects.get(user=newcomer).provider == "corp"


def a_local_account_still_signs_in_with_its_password(page: Page) -> None:
    sign_in_with_password(page, "alice", "correct horse battery")
    expect(page.locator(".topbar")).to_contain_text("alice")
