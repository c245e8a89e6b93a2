"""Retention rules on the settings page, the organization's audit log (pagination, filters, links,
membership and team events, timezone), one-line refusals in the server log, the API schema's
security scheme, the favicon and the organizations list (issue 13)."""

from __future__ import annotations

import io
import logging
import re
from typing import Any

from django.test import Client

from accounts import services as org_services
from accounts.models import Organization
from packages_app.models import AuditEvent, Package, RetentionRule
from registry_site.logging import OneLineRefusals
from tests.oci import make_image
from tests.packages_app.test_pages import as_user, publish, push_image, text

# --- retention rules ------------------------------------------------------------------------------


def test_an_admin_adds_changes_previews_and_removes_a_retention_rule(owner: Any) -> None:
    publish("acme/app", owner)
    for i in range(3):
        push_image("acme/app", make_image(seed=f"u{i}"), tag=None, user=owner)
    client = as_user(owner)
    added = client.post(
        "/acme/app/-/settings/retention", {"keep_newest": "2", "protected_tags": "1.*", "enabled": "on"}, follow=True
    )
    rule = RetentionRule.objects.get(package__name="acme/app")
    assert (rule.keep_newest, rule.untagged_older_than_days, rule.tag_patterns, rule.enabled) == (
        2,
        None,
        ["1.*"],
        True,
    )
    assert "Retention rule saved." in text(added)
    page = text(client.get("/acme/app/-/settings"))
    assert f'id="rule-{rule.id}"' in page
    assert "Would delete 1 version now:" in page  # 4 versions, keep 2, 1.0 protected
    client.post(
        "/acme/app/-/settings/retention", {"rule": rule.id, "keep_newest": "10", "untagged_older_than_days": "30"}
    )
    rule.refresh_from_db()
    assert (rule.keep_newest, rule.untagged_older_than_days, rule.enabled) == (10, 30, False)
    assert "Would delete nothing now." in text(client.get("/acme/app/-/settings"))
    asked = client.post("/acme/app/-/settings/retention", {"rule": rule.id, "remove": "1"})
    assert asked.status_code == 200
    assert RetentionRule.objects.filter(id=rule.id).exists()
    client.post("/acme/app/-/settings/retention", {"rule": rule.id, "remove": "1", "confirm": "yes"})
    assert not RetentionRule.objects.filter(id=rule.id).exists()
    details = list(AuditEvent.objects.filter(action="retention").order_by("id").values_list("detail", flat=True))
    assert details[0].startswith("added: keep 2 newest")
    assert details[-1].startswith("removed:")


def test_a_rule_without_limits_or_with_bad_numbers_is_refused(owner: Any) -> None:
    publish("acme/app", owner)
    client = as_user(owner)
    empty = client.post("/acme/app/-/settings/retention", {"protected_tags": "x"}, follow=True)
    assert "Set “keep the newest” or “untagged older than”" in text(empty)
    bad = client.post("/acme/app/-/settings/retention", {"keep_newest": "-3"}, follow=True)
    assert "whole numbers from 1 to 100,000" in text(bad)
    assert not RetentionRule.objects.exists()


def test_only_admins_edit_retention_rules(owner: Any, member: Any) -> None:
    package = publish("acme/app", owner, "internal")
    rule = RetentionRule.objects.create(package=package, keep_newest=5)
    client = as_user(member)
    assert client.post("/acme/app/-/settings/retention", {"keep_newest": "1"}).status_code == 403
    assert (
        client.post("/acme/app/-/settings/retention", {"rule": rule.id, "remove": "1", "confirm": "yes"}).status_code
        == 403
    )
    assert list(RetentionRule.objects.values_list("keep_newest", flat=True)) == [5]


def test_a_rule_of_another_package_cannot_be_changed_through_this_one(owner: Any) -> None:
    publish("acme/app", owner)
    other = publish("acme/other", owner)
    rule = RetentionRule.objects.create(package=other, keep_newest=5)
    response = as_user(owner).post("/acme/app/-/settings/retention", {"rule": rule.id, "keep_newest": "1"}, follow=True)
    assert "There is no such retention rule." in text(response)
    rule.refresh_from_db()
    assert rule.keep_newest == 5


# --- the organization's audit log -----------------------------------------------------------------


def test_membership_and_team_changes_are_in_the_audit_log(owner: Any, member: Any, outsider: Any) -> None:
    organization = Organization.objects.get(name="acme")
    org_services.member_add(organization=organization, actor=owner, username="eve")
    org_services.member_set_role(organization=organization, actor=owner, username="eve", role="owner")
    team = org_services.team_create(organization=organization, actor=owner, name="Core")
    org_services.team_member_add(team=team, actor=owner, username="bob")
    org_services.team_member_remove(team=team, actor=owner, username="bob")
    org_services.member_remove(organization=organization, actor=owner, username="eve")
    events = AuditEvent.objects.filter(namespace="acme").order_by("id")
    assert [(e.action, e.detail, e.actor) for e in events] == [
        ("member.add", "eve: member", "alice"),
        ("member.role", "eve: owner", "alice"),
        ("team.create", "core", "alice"),
        ("team.member.add", "core: bob", "alice"),
        ("team.member.remove", "core: bob", "alice"),
        ("member.remove", "eve", "alice"),
    ]
    page = text(as_user(owner).get("/orgs/acme/audit"))
    assert '<td data-label="What">Added a team member</td>' in page
    assert re.search(r'<time datetime="[^"]+\+00:00">\d{4}-\d\d-\d\d \d\d:\d\d UTC</time>', page)


def test_the_audit_log_is_paginated_filtered_and_links_packages(owner: Any) -> None:
    publish("acme/app", owner)
    for i in range(60):
        push_image("acme/app", make_image(seed=f"p{i}"), tag=f"t{i}", user=owner)
    AuditEvent.objects.create(namespace="acme", package_name="acme/gone", actor="bob", action="package.delete")
    client = as_user(owner)
    first = text(client.get("/orgs/acme/audit"))
    assert first.count("<tr><td") == 50
    assert "Page 1 of 2 · 62 events" in first
    assert '<a href="/acme/app">acme/app</a>' in first
    second = text(client.get("/orgs/acme/audit?page=2"))
    assert second.count("<tr><td") == 12
    by_bob = text(client.get("/orgs/acme/audit?actor=bob"))
    assert by_bob.count("<tr><td") == 1
    assert "acme/gone" in by_bob
    assert '<a href="/acme/gone">' not in by_bob
    deletes = text(client.get("/orgs/acme/audit?action=package.delete"))
    assert deletes.count("<tr><td") == 1
    by_package = text(client.get("/orgs/acme/audit?package=gone"))
    assert by_package.count("<tr><td") == 1
    assert text(client.get("/orgs/acme/audit?action=bogus")).count("<tr><td") == 50  # an unknown action: no filter


# --- the server log, the API docs, the favicon, the organizations list ------------------------------


def test_an_expected_403_or_404_is_one_line_in_the_log(owner: Any, member: Any) -> None:
    publish("acme/app", owner, "internal")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(OneLineRefusals())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        assert as_user(member).get("/acme/app/-/settings").status_code == 403
        assert as_user(member).get("/acme/nothing").status_code == 404
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert lines == ["Forbidden (Permission denied): /acme/app/-/settings", "Not Found: /acme/nothing"]


def test_the_logging_settings_use_the_one_line_filter(settings: Any) -> None:
    handler = settings.LOGGING["handlers"]["console"]
    assert "one_line_refusals" in handler["filters"]
    assert settings.LOGGING["filters"]["one_line_refusals"]["()"] == "registry_site.logging.OneLineRefusals"


def test_the_api_schema_offers_the_personal_access_token_to_authorize(db: None) -> None:
    schema = Client().get("/api/schema", HTTP_ACCEPT="application/json").json()
    scheme = schema["components"]["securitySchemes"]["personalAccessToken"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert operations
    assert all({"personalAccessToken": []} in op["security"] for op in operations)


def test_the_favicon_is_served(db: None) -> None:
    response = Client().get("/favicon.ico")
    assert response.status_code == 301
    assert response.headers["Location"] == "/static/favicon.svg"


def test_the_user_menu_links_packages_repositories_organizations_tokens_and_api_docs(owner: Any) -> None:
    page = text(as_user(owner).get("/"))
    menu = page.split('<details class="menu">')[1].split("</details>")[0]
    for href in ("/alice/", "/repos/", "/orgs/", "/settings/tokens/", "/api/docs"):
        assert f'href="{href}"' in menu
    assert "alice" in menu
    assert "acme" in text(as_user(owner).get("/orgs/"))


def test_every_page_has_one_h1_and_a_skip_link(owner: Any) -> None:
    publish("acme/app", owner)
    version = Package.objects.get(name="acme/app").manifests.get()
    client = as_user(owner)
    for path in ("/", "/acme/", "/acme/app", "/acme/app/-/versions", f"/acme/app/-/versions/{version.id}",
                 "/acme/app/-/settings", "/orgs/", "/orgs/acme/", "/orgs/acme/audit", "/settings/tokens/",
                 "/repos/", "/accounts/password/change/"):  # fmt: skip
        page = text(client.get(path))
        assert page.count("<h1") == 1, path
        assert '<a class="skip-link" href="#main">' in page, path
        assert 'id="main"' in page, path
