"""Every page of the main flows in a real Chromium (issue 13's acceptance): at 1280 and 390 px, as an
organization owner (alice), a member (bob) and an anonymous visitor, with axe-core (the copy shipped
by the axe-playwright-python package, injected from disk) run on each; any violation of impact
serious or critical fails, and so does a page that scrolls sideways on a phone or answers a 5xx.
The page list covers every URL pattern of the page URLconfs (checked against the resolver), and
POST-only actions are checked to have their form on the page that holds it.

Then, on a 390 px phone: restore a deleted package, change a member's role, remove a grant and
revoke a token, each through its confirm step. Screenshots of every page at both widths go to
tests/artifacts/pages/ (kept as CI artifacts, not committed)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import axe_playwright_python
import pytest
from django.conf import settings as django_settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from playwright._impl._api_structures import SetCookieParam
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from accounts.models import Membership, Organization, Team
from federation.models import TrustedIssuer
from packages_app.access import Actor
from packages_app.metadata import manifest_extract_metadata
from packages_app.models import (
    Manifest,
    Package,
    PackagePermission,
    RetentionRule,
    Role,
    TagRule,
    Visibility,
)
from packages_app.services.packages import package_delete
from packages_app.services.versions import version_delete
from repositories.models import RepositoryCollaborator, SourceRepository
from tests.conftest import make_pat
from tests.e2e.conftest import WharfServer
from tests.oci import OCI_MANIFEST, make_image
from tests.packages_app.test_pages import COSIGN, SPDX, push_image, push_index
from tokens_app.automation import automation_token_issue
from tokens_app.models import PersonalAccessToken
from webhooks.models import Webhook

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "pages"
WIDTHS: dict[str, ViewportSize] = {"1280": {"width": 1280, "height": 900}, "390": {"width": 390, "height": 844}}
FAILING_IMPACTS = {"serious", "critical"}
AXE_SCRIPT = Path(axe_playwright_python.__file__).with_name("axe.min.js")  # axe-core, shipped in the package
AXE_RUN = "axe.run(document, {resultTypes: ['violations']})"
ALL, SIGNED_IN, OWNER, ANON = ("owner", "member", "anonymous"), ("owner", "member"), ("owner",), ("anonymous",)
README = "## Usage\n\nRun it with `docker run`. See [the docs](https://docs.example.com/app).\n\n- fast\n- small\n"


@pytest.fixture(scope="session", autouse=True)
def async_unsafe_orm() -> Iterator[None]:
    """Playwright's sync API runs an event loop in this thread; the ORM calls stay synchronous."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


# --- what the site holds -------------------------------------------------------------------------


@dataclass
class Site:
    alice: Any
    bob: Any
    index: Manifest  # acme/app:2.0, two platforms
    image: Manifest  # acme/app:1.0, signed, with an SBOM
    signature: Manifest
    deleted_version: Manifest
    deleted_package: Package
    token: PersonalAccessToken
    org_hook: int
    package_hook: int
    issuer: int
    org_rule: int
    package_rule: int
    automation_token: int  # an active automation token of acme/app (its revoke form is on the repository page)


def _user(username: str) -> Any:
    return get_user_model().objects.create_user(username, f"{username}@example.com", "unused password 1")


def seed() -> Site:
    """alice owns acme (public acme/app with an index, a signed image, a README, a retention rule, a
    deleted version; internal acme/internal; a deleted package), bob is a member with grants."""
    alice, bob = _user("alice"), _user("bob")
    acme = Organization.objects.create(name="acme", description="Containers for the Acme company")
    Membership.objects.create(organization=acme, user=alice, role=Membership.Role.OWNER)
    Membership.objects.create(organization=acme, user=bob, role=Membership.Role.MEMBER)
    team = Team.objects.create(organization=acme, name="Core", slug="core")
    team.members.add(bob)
    labels = {"org.opencontainers.image.description": "A tiny web server. https://example.com/app",
              "org.opencontainers.image.licenses": "MIT"}  # fmt: skip
    image = make_image(seed="app-1", labels=labels)
    one = push_image("acme/app", image, tag="1.0", user=alice)
    index = push_index("acme/app", "2.0", user=alice)
    subject = {"mediaType": OCI_MANIFEST, "digest": image.digest, "size": len(image.manifest)}
    signature = push_image("acme/app", make_image(seed="sig", subject=subject, artifact_type=COSIGN), None, alice)
    push_image("acme/app", make_image(seed="sbom", subject=subject, artifact_type=SPDX), tag=None, user=alice)
    doomed = push_image("acme/app", make_image(seed="old"), tag="0.9", user=alice)
    for manifest in (*index.children.all(), index, one):
        manifest_extract_metadata(manifest_id=manifest.id)
    version_delete(manifest=doomed, actor=Actor(user=alice))
    app = Package.objects.get(name="acme/app")
    repository = SourceRepository.objects.create(owner="acme", name="app", description="The app's source")
    RepositoryCollaborator.objects.create(repository=repository, user=bob, role=Role.WRITE)
    app_fields = {"visibility": Visibility.PUBLIC, "readme": README, "repository": repository, "inherit_access": False,
                  "description": labels["org.opencontainers.image.description"], "licenses": "MIT"}  # fmt: skip
    Package.objects.filter(id=app.id).update(**app_fields)
    PackagePermission.objects.create(package=app, user=bob, role=Role.WRITE)
    RetentionRule.objects.create(package=app, untagged_older_than_days=30, protected_tags="v*")
    push_image("acme/internal", make_image(seed="internal"), tag="latest", user=alice)
    Package.objects.filter(name="acme/internal").update(visibility=Visibility.INTERNAL, inherit_access=False)
    PackagePermission.objects.create(package=Package.objects.get(name="acme/internal"), team=team, role=Role.READ)
    push_image("acme/old", make_image(seed="gone"), tag="1.0", user=alice)
    old = Package.objects.get(name="acme/old")
    package_delete(package=old, actor=Actor(user=alice))
    make_pat(alice, "read:packages", "write:packages")
    Webhook.objects.create(namespace="acme", url="https://ci.example.com/hook", events=["push"], created_by=alice)
    Webhook.objects.create(package=app, url="https://ci.example.com/app", events=["push"], created_by=alice)
    TrustedIssuer.objects.create(organization=acme, name="Actions", issuer="https://ci.example.com",
                                 audience="wharf", rule='repository == "acme/app"', repository=repository)  # fmt: skip
    return Site(
        alice, bob, index, one, signature, doomed, Package.all_objects.get(id=old.id),
        PersonalAccessToken.objects.get(user=alice),
        Webhook.objects.get(namespace="acme", package=None).id, Webhook.objects.get(package=app).id,
        TrustedIssuer.objects.get(organization=acme).id,
        TagRule.objects.create(namespace="acme", pattern="v*", kind=TagRule.Kind.IMMUTABLE, created_by=alice).id,
        TagRule.objects.create(package=app, pattern="stable", kind=TagRule.Kind.PROTECTED, team=team).id,
        automation_token_issue(repository=repository, user=alice).token.id,
    )  # fmt: skip


def signed_in(browser: Browser, server: WharfServer, user: Any, viewport: ViewportSize) -> BrowserContext:
    """A browser context with ``user``'s session (made here, as Django's login would make it)."""
    context = browser.new_context(base_url=f"http://{server.host}", viewport=viewport)
    context.add_init_script(path=str(AXE_SCRIPT))  # every page gets axe-core, read from disk once
    if user is not None:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        cookie: SetCookieParam = {
            "name": django_settings.SESSION_COOKIE_NAME,
            "value": str(session.session_key),
            "domain": "127.0.0.1",
            "path": "/",
        }
        context.add_cookies([cookie])
    return context


# --- the pages ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    name: str  # the URL pattern's name
    path: str
    who: tuple[str, ...]
    status: int = 200
    ready: str = ""  # a selector to wait for (a page that renders with JavaScript)


def visits(site: Site) -> list[Visit]:
    app, deleted = "/acme/app", site.deleted_version.id
    return [
        Visit("home", "/", ALL),
        Visit("owner", "/acme/", ALL),
        Visit("owner", "/alice/", ANON),
        Visit("package", app, ALL),
        Visit("package", "/acme/internal", SIGNED_IN),
        Visit("package-versions", f"{app}/-/versions", ALL),
        Visit("package-versions", f"{app}/-/versions?view=deleted", OWNER),
        Visit("package-versions", f"{app}/-/versions?tag=2", OWNER),
        Visit("package-version", f"{app}/-/versions/{site.index.id}", ALL),
        Visit("package-version", f"{app}/-/versions/{site.image.id}", ALL),
        Visit("package-version", f"{app}/-/versions/{site.signature.id}", OWNER),
        Visit("package-settings", f"{app}/-/settings", OWNER),
        Visit("package-settings", "/acme/internal/-/settings", OWNER),
        Visit("package-settings", "/acme/internal/-/settings", ("member",), 403),
        Visit("version-delete", f"{app}/-/versions/{site.image.id}/delete", OWNER),
        Visit("version-restore", f"{app}/-/versions/{deleted}/restore", OWNER),
        Visit("owner-deleted", "/acme/-/deleted", OWNER),
        Visit("repositories", "/repos/", SIGNED_IN),
        Visit("repository", "/repos/acme/app/", SIGNED_IN),
        Visit("organization-list", "/orgs/", SIGNED_IN),
        Visit("organization-new", "/orgs/new", OWNER),
        Visit("organization", "/orgs/acme/", SIGNED_IN),
        Visit("team", "/orgs/acme/teams/core", SIGNED_IN),
        Visit("organization-audit", "/orgs/acme/audit", OWNER),
        Visit("organization-hooks", "/orgs/acme/hooks", OWNER),
        Visit("organization-hook", f"/orgs/acme/hooks/{site.org_hook}", OWNER),
        Visit("package-hooks", f"{app}/-/settings/hooks", OWNER),
        Visit("package-hook", f"{app}/-/settings/hooks/{site.package_hook}", OWNER),
        Visit("ci-issuers", "/orgs/acme/ci-issuers", OWNER),
        Visit("organization-tag-rules", "/orgs/acme/tag-rules", OWNER),
        Visit("package-tag-rules", f"{app}/-/settings/tag-rules", OWNER),
        Visit("token-list", "/settings/tokens/", SIGNED_IN),
        Visit("token-new", "/settings/tokens/new", OWNER),
        Visit("storage-settings", "/settings/storage", SIGNED_IN),
        # Swagger UI is slow to render and the same page for everyone but the header the other pages cover
        Visit("api-docs", "/api/docs", OWNER, ready=".swagger-ui .opblock"),
        Visit("account_login", "/accounts/login/", ANON),
        Visit("account_signup", "/accounts/signup/", ANON),
        Visit("account_reset_password", "/accounts/password/reset/", ANON),
        Visit("account_reset_password_done", "/accounts/password/reset/done/", ANON),
        Visit("account_reset_password_from_key", "/accounts/password/reset/key/1-bogus-key/", ANON),
        Visit("account_reset_password_from_key_done", "/accounts/password/reset/key/done/", ANON),
        Visit("account_confirm_email", "/accounts/confirm-email/bogus-key/", ANON),
        Visit("account_email_verification_sent", "/accounts/confirm-email/", ANON),
        Visit("account_inactive", "/accounts/inactive/", ANON),
        Visit("account_confirm_login_code", "/accounts/login/code/confirm/", ANON),
        Visit("account_logout", "/accounts/logout/", OWNER),
        Visit("account_change_password", "/accounts/password/change/", OWNER),
        Visit("account_set_password", "/accounts/password/set/", OWNER),
        Visit("account_email", "/accounts/email/", OWNER),
        Visit("account_reauthenticate", "/accounts/reauthenticate/", OWNER),
        Visit("socialaccount_connections", "/accounts/3rdparty/", OWNER),
        Visit("socialaccount_login_cancelled", "/accounts/3rdparty/login/cancelled/", ANON),
        Visit("socialaccount_login_error", "/accounts/3rdparty/login/error/", ANON, 401),  # allauth answers 401
        Visit("socialaccount_signup", "/accounts/3rdparty/signup/", ANON),  # no pending sign-in: to the login page
        Visit("not-found", "/acme/nothing", ALL, 404),
    ]


# POST-only routes: the page that holds each one's form (as the owner sees it) and the form's action.
def actions(site: Site) -> dict[str, tuple[str, str]]:
    internal, settings_page, app = "/acme/internal/-/settings", "/acme/app/-/settings", "/acme/app"
    return {
        "package-visibility": (internal, f"{internal}/visibility"),
        "package-access": (internal, f"{internal}/access"),
        "package-repository": (settings_page, f"{settings_page}/repository"),
        "package-delete": (settings_page, f"{settings_page}/delete"),
        "package-readme": (settings_page, f"{settings_page}/readme"),
        "package-retention": (settings_page, f"{settings_page}/retention"),
        "owner-deleted-restore": ("/acme/-/deleted", f"/acme/-/deleted/{site.deleted_package.id}/restore"),
        "repository-collaborator": ("/repos/acme/app/", "/repos/acme/app/collaborators"),
        "repository-token": ("/repos/acme/app/", "/repos/acme/app/tokens"),
        "repository-token-revoke": (
            "/repos/acme/app/",
            f"/repos/acme/app/tokens/{site.automation_token}/revoke",
        ),
        "member-add": ("/orgs/acme/", "/orgs/acme/members"),
        "member-change": ("/orgs/acme/", "/orgs/acme/members/bob"),
        "team-add": ("/orgs/acme/", "/orgs/acme/teams"),
        "organization-package-policy": ("/orgs/acme/", "/orgs/acme/package-policy"),
        "token-revoke": ("/settings/tokens/", f"/settings/tokens/{site.token.id}/revoke"),
        "organization-hook-action": (f"/orgs/acme/hooks/{site.org_hook}", f"/orgs/acme/hooks/{site.org_hook}/ping"),
        "package-hook-action": (
            f"{app}/-/settings/hooks/{site.package_hook}",
            f"{app}/-/settings/hooks/{site.package_hook}/ping",
        ),
        "ci-issuer-delete": ("/orgs/acme/ci-issuers", f"/orgs/acme/ci-issuers/{site.issuer}/delete"),
        "organization-tag-rule-delete": ("/orgs/acme/tag-rules", f"/orgs/acme/tag-rules/{site.org_rule}/delete"),
        "package-tag-rule-delete": (
            f"{settings_page}/tag-rules",
            f"{settings_page}/tag-rules/{site.package_rule}/delete",
        ),
    }


NOT_PAGES = {
    "api-schema": "JSON (the docs page renders it)",
    "favicon": "a redirect to the icon (tests/packages_app/test_settings_pages.py)",
    "ci-token": "JSON: CI jobs exchange their OIDC token here",
    "metrics": "Prometheus text for scrapers",
    "registry-token-keys": "JSON Web Key Set: the registry tokens' public keys, for verifiers",
    "openid_connect_login": "a redirect to the identity provider (tests/e2e drive it with node-oidc-provider)",
    "openid_connect_callback": "the identity provider's redirect back (the OIDC end-to-end test)",
}


def _is_page(route: str, name: str) -> bool:
    """The REST API's routes answer JSON; its docs page (and the schema it reads) are listed."""
    if name == "registry-token":
        return False
    return not (route.startswith("api/") and name.startswith("api-")) or name in {"api-docs", "api-schema"}


def page_pattern_names() -> set[str]:
    """Names of every URL pattern that serves pages: all but /v2/, /token, /admin/ and the JSON API."""
    names: set[str] = set()

    def walk(patterns: list[Any], prefix: str) -> None:
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver) and not route.startswith(("v2/", "admin/")):
                walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern) and entry.name and _is_page(route, entry.name):
                names.add(entry.name)

    walk(get_resolver().url_patterns, "")
    return names


# --- checks -----------------------------------------------------------------------------------------


def check(page: Page, visit: Visit, label: str, screenshot: bool) -> list[str]:
    """Load ``visit``; return what is wrong (status, sideways scrolling, serious/critical axe findings)."""
    response = page.goto(visit.path)
    problems = []
    status = response.status if response is not None else 0
    if status != visit.status:
        problems.append(f"{label}: status {status}, expected {visit.status}")
    if visit.ready:
        page.wait_for_selector(visit.ready)
    if screenshot:
        page.screenshot(path=str(ARTIFACTS / f"{label}.png"), full_page=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    if page.evaluate("document.documentElement.scrollWidth") > width:
        problems.append(f"{label}: scrolls sideways at {width}px")
    if page.locator("h1:visible").count() != 1:
        problems.append(f"{label}: {page.locator('h1:visible').count()} visible <h1> elements")
    for violation in page.evaluate(AXE_RUN)["violations"]:
        if violation["impact"] in FAILING_IMPACTS:
            targets = [", ".join(node["target"]) for node in violation["nodes"][:3]]
            problems.append(f"{label}: axe {violation['impact']} {violation['id']}: {violation['help']} {targets}")
    return problems


def slug(visit: Visit) -> str:
    cleaned = visit.path.strip("/").replace("/", "_").replace("?", "_").replace("=", "-") or "home"
    return cleaned[:80]


def test_every_page_is_accessible_at_both_widths_for_owner_member_and_visitor(
    browser: Browser, wharf_site: WharfServer
) -> None:
    site = seed()
    people = {"owner": site.alice, "member": site.bob, "anonymous": None}
    pages, problems = visits(site), []
    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # this run's screenshots only
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    timings: list[tuple[float, str]] = []
    covered = {v.name for v in pages} | set(actions(site)) | set(NOT_PAGES)
    missing = page_pattern_names() - covered
    assert not missing, f"add these URL patterns to PAGES or ACTIONS in {__file__}: {sorted(missing)}"
    for width, viewport in WIDTHS.items():
        for person, user in people.items():
            context = signed_in(browser, wharf_site, user, viewport)
            page = context.new_page()
            for visit in (v for v in pages if person in v.who):
                started = time.monotonic()
                # screenshots: every page as the owner sees it, and what a visitor sees
                problems += check(page, visit, f"{person}-{width}-{slug(visit)}", screenshot=person != "member")
                timings.append((time.monotonic() - started, f"{person}-{width}-{slug(visit)}"))
            context.close()
    owner = signed_in(browser, wharf_site, site.alice, WIDTHS["1280"]).new_page()
    for name, (holder, action) in actions(site).items():
        owner.goto(holder)
        if owner.locator(f'form[action="{action}"]').count() == 0:
            problems.append(f"{name}: no form posting to {action} on {holder}")
    print("slowest pages:", sorted(timings, reverse=True)[:8], "total", sum(t for t, _ in timings))
    assert not problems, "\n".join(problems)


# --- the phone ------------------------------------------------------------------------------------


def confirm(page: Page, scope: Any, label: str, button: str) -> None:
    """Open a confirm step (a <details> disclosure) and press its real button."""
    scope.locator("summary", has_text=label).click()
    scope.get_by_role("button", name=button).click()


def test_a_phone_restores_a_package_changes_a_role_removes_a_grant_and_revokes_a_token(
    browser: Browser, wharf_site: WharfServer
) -> None:
    site = seed()
    context = signed_in(browser, wharf_site, site.alice, WIDTHS["390"])
    page = context.new_page()

    page.goto("/acme/-/deleted")
    page.get_by_role("button", name="Restore acme/old").click()
    expect(page.locator(".message.success")).to_have_text("acme/old was restored.")
    assert Package.objects.get(name="acme/old").deleted_at is None

    page.goto("/orgs/acme/")
    bob = page.locator("#members tr", has_text="bob")
    bob.get_by_label("Role of bob").select_option("owner")
    bob.get_by_role("button", name="Change role").click()
    expect(page.locator(".message.success")).to_have_text("bob is now owner.")
    assert Membership.objects.get(user=site.bob).role == Membership.Role.OWNER

    page.goto("/acme/app/-/settings")
    grant = page.locator("#access tr", has_text="bob")
    expect(grant.locator("summary", has_text="Remove")).to_be_visible()
    confirm(page, grant, "Remove", "Remove access")
    expect(page.locator(".message.success")).to_have_text("Access removed.")
    assert not PackagePermission.objects.filter(package__name="acme/app", user=site.bob).exists()

    page.goto("/settings/tokens/")
    row = page.locator("tr", has_text="wharf_pat_")
    confirm(page, row, "Revoke", "Revoke token")
    expect(page.locator(".message.success")).to_contain_text("Token revoked.")
    expect(page.locator("tr", has_text="wharf_pat_")).to_contain_text("revoked")
    site.token.refresh_from_db()
    assert site.token.revoked_at is not None
    assert site.token.revoked_at <= timezone.now()
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS["390"]["width"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "phone-token-revoked.png"), full_page=True)
    context.close()
