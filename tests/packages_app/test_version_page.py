"""The version page, the package page's README, Source link and install tag, and the versions list's
tag filter (issue 13). alice owns acme, bob is a member, eve an outsider."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Organization, Team
from packages_app.models import DownloadCount, Manifest, Package, Tag, Visibility
from packages_app.pages.package import install_tag
from packages_app.readme import render_readme, sanitize_html
from repositories.models import SourceRepository
from tests.conftest import make_pat
from tests.oci import OCI_MANIFEST, make_image
from tests.packages_app.test_pages import COSIGN, SPDX, as_user, publish, push_image, push_index, text
from tokens_app.models import PersonalAccessToken

HOST = "wharf.test"


@pytest.fixture(autouse=True)
def public_url(settings: Any) -> None:
    settings.WHARF_PUBLIC_URL = f"https://{HOST}"  # pull commands name WHARF_PUBLIC_URL, never the Host header


def get(user: Any, path: str) -> Any:
    return as_user(user).get(path, HTTP_HOST=HOST)


def version_url(manifest: Manifest) -> str:
    return f"/{manifest.package.name}/-/versions/{manifest.id}"


# --- the version page -----------------------------------------------------------------------------


def test_a_version_page_shows_digest_pull_commands_layers_config_and_downloads(owner: Any) -> None:
    image = make_image(seed="v", labels={"org.opencontainers.image.title": "App"}, annotations={"note": "hi"})
    manifest = push_image("acme/app", image, tag="1.0", user=owner)
    Manifest.objects.filter(id=manifest.id).update(labels={"org.opencontainers.image.title": "App"})
    DownloadCount.objects.create(manifest=manifest, day=timezone.localdate(), count=5)
    page = text(get(owner, version_url(manifest)))
    assert f'<code id="version-digest" class="command digest-full">{image.digest}</code>' in page
    assert 'data-copy="version-digest"' in page
    assert f"docker pull {HOST}/acme/app@{image.digest}" in page
    assert f"docker pull {HOST}/acme/app:1.0" in page
    assert '<strong class="downloads">5</strong>' in page
    layers = re.findall(r'<tr class="layer">.*?</tr>', page)
    assert len(layers) == len(image.layers) == 1
    assert "application/vnd.oci.image.layer.v1.tar+gzip" in layers[0]
    assert f"{len(image.layers[0])}\xa0bytes" in layers[0]
    assert '<tr class="config">' in page
    assert "application/vnd.oci.image.config.v1+json" in page
    assert "<dt>org.opencontainers.image.title</dt><dd>App</dd>" in page
    assert "<dt>note</dt><dd>hi</dd>" in page


def test_a_multi_platform_version_lists_each_platform_with_its_digest_and_page(owner: Any) -> None:
    index = push_index("acme/multi", "2.0", user=owner)
    page = text(get(owner, version_url(index)))
    children = {c.digest: c for c in index.children.all()}
    assert len(children) == 2
    rows = re.findall(r"<tr>\s*<td data-label=\"Platform\">.*?</tr>", page, re.S)
    assert len(rows) == 2
    for digest, child in children.items():
        assert f'href="/acme/multi/-/versions/{child.id}" title="{digest}"' in page
    assert '<span class="platform">linux/amd64</span>' in page
    assert '<span class="platform">linux/arm64</span>' in page
    assert '<td data-label="Architecture">arm64</td>' in page
    child = next(iter(children.values()))
    child_page = text(get(owner, version_url(child)))
    assert f'href="/acme/multi/-/versions/{index.id}"' in child_page  # "Platform image of" the index
    assert '<tr class="layer">' in child_page


def test_referrers_link_to_their_own_version_pages_and_back(owner: Any) -> None:
    image = make_image(seed="signed")
    subject_manifest = push_image("acme/app", image, tag="1.0", user=owner)
    subject = {"mediaType": OCI_MANIFEST, "digest": image.digest, "size": len(image.manifest)}
    signature = push_image(
        "acme/app", make_image(seed="s", subject=subject, artifact_type=COSIGN), tag=None, user=owner
    )
    sbom = push_image("acme/app", make_image(seed="b", subject=subject, artifact_type=SPDX), tag=None, user=owner)
    page = text(get(owner, version_url(subject_manifest)))
    assert f'href="/acme/app/-/versions/{signature.id}" title="{signature.digest}"' in page
    assert f'href="/acme/app/-/versions/{sbom.id}" title="{sbom.digest}"' in page
    assert '<span class="badge ref-signature">Signature</span>' in page
    assert SPDX in page
    signature_page = text(get(owner, version_url(signature)))
    assert f'Refers to <a class="mono" href="/acme/app/-/versions/{subject_manifest.id}">' in signature_page
    assert COSIGN in signature_page


def test_a_version_page_is_a_404_to_those_who_cannot_read_the_package(owner: Any, outsider: Any) -> None:
    manifest = push_image("acme/app", make_image(seed="p"), tag="1.0", user=owner)
    assert get(outsider, version_url(manifest)).status_code == 404
    assert get(None, version_url(manifest)).status_code == 404
    assert get(owner, f"/acme/app/-/versions/{manifest.id + 999}").status_code == 404
    other = push_image("acme/other", make_image(seed="o"), tag="1.0", user=owner)
    assert get(owner, f"/acme/app/-/versions/{other.id}").status_code == 404  # another package's version


def test_a_deleted_version_shows_its_old_tags_to_admins_only(owner: Any, member: Any) -> None:
    package = publish("acme/app", owner, Visibility.INTERNAL)
    manifest = package.manifests.get()
    admin = as_user(owner)
    assert admin.post(f"{version_url(manifest)}/delete", {"confirm": "yes"}).status_code == 302
    assert get(member, version_url(manifest)).status_code == 404
    page = text(get(owner, version_url(manifest)))
    assert '<span class="badge danger">deleted</span>' in page
    assert '<span class="tag deleted">1.0</span>' in page
    deleted_list = text(get(owner, "/acme/app/-/versions?view=deleted"))
    assert '<span class="tag deleted" title="tag removed with the version">1.0</span>' in deleted_list
    assert "untagged" not in deleted_list.split('class="versions"')[1]


# --- confirm steps --------------------------------------------------------------------------------


def test_deleting_a_version_needs_the_confirm_step(owner: Any) -> None:
    manifest = publish("acme/app", owner).manifests.get()
    client = as_user(owner)
    shown = client.get(f"{version_url(manifest)}/delete")
    assert shown.status_code == 200
    assert "Delete this version" in text(shown)
    assert 'name="confirm" value="yes"' in text(shown)
    assert "It is tagged 1.0" in text(shown)
    unconfirmed = client.post(f"{version_url(manifest)}/delete")
    assert unconfirmed.status_code == 200
    assert Manifest.objects.get(id=manifest.id).deleted_at is None
    assert client.post(f"{version_url(manifest)}/delete", {"confirm": "yes"}).status_code == 302
    assert Manifest.objects.get(id=manifest.id).deleted_at is not None
    assert not Tag.objects.filter(package__name="acme/app").exists()


def test_the_versions_list_hides_the_delete_form_behind_a_disclosure(owner: Any) -> None:
    manifest = publish("acme/app", owner).manifests.get()
    page = text(get(owner, "/acme/app/-/versions"))
    form = re.search(r'<details class="confirm">.*?</details>', page, re.S)
    assert form is not None
    assert f'action="/acme/app/-/versions/{manifest.id}/delete"' in form.group(0)
    assert '<summary class="button small danger">Delete version</summary>' in form.group(0)


def test_removing_a_grant_a_member_or_revoking_a_token_needs_the_confirm_step(owner: Any, member: Any) -> None:
    publish("acme/app", owner)
    client = as_user(owner)
    client.post("/acme/app/-/settings/access", {"kind": "user", "grantee": "bob", "role": "write"})
    package = Package.objects.get(name="acme/app")
    assert package.permissions.count() == 1
    asked = client.post("/acme/app/-/settings/access", {"username": "bob", "remove": "1"})
    assert asked.status_code == 200
    assert "Remove bob&#x27;s access to acme/app?" in text(asked)
    assert package.permissions.count() == 1
    client.post("/acme/app/-/settings/access", {"username": "bob", "remove": "1", "confirm": "yes"})
    assert package.permissions.count() == 0
    asked = client.post("/orgs/acme/members/bob", {"remove": "1"})
    assert asked.status_code == 200
    assert member.memberships.exists()
    make_pat(owner, "read:packages")
    token = PersonalAccessToken.objects.get(user=owner)
    asked = client.post(f"/settings/tokens/{token.id}/revoke")
    assert asked.status_code == 200
    assert "Revoke token" in text(asked)
    token.refresh_from_db()
    assert token.revoked_at is None


def test_a_grant_names_a_user_or_a_team_by_kind(owner: Any, member: Any) -> None:

    Team.objects.create(organization=Organization.objects.get(name="acme"), name="Core", slug="core")
    publish("acme/app", owner)
    client = as_user(owner)
    client.post("/acme/app/-/settings/access", {"kind": "team", "grantee": "core", "role": "read"})
    client.post("/acme/app/-/settings/access", {"kind": "user", "grantee": "bob", "role": "admin"})
    permissions = Package.objects.get().permissions.all()
    grants = {(p.team.slug if p.team else getattr(p.user, "username", ""), p.role) for p in permissions}
    assert grants == {("core", 1), ("bob", 3)}


# --- the versions list's tag filter ---------------------------------------------------------------


def test_the_versions_list_filters_by_tag_on_the_server_and_keeps_the_filter_in_pages(owner: Any) -> None:
    for i in range(35):
        push_image("acme/app", make_image(seed=f"r{i}"), tag=f"release-{i}", user=owner)
    push_image("acme/app", make_image(seed="nightly"), tag="nightly", user=owner)
    client = as_user(owner)
    page = text(client.get("/acme/app/-/versions?tag=nightly"))
    assert page.count('<li class="version">') == 1
    assert '<span class="tag">nightly</span>' in page
    assert "1 version with a tag containing “nightly”" in page
    releases = text(client.get("/acme/app/-/versions?tag=release"))
    assert releases.count('<li class="version">') == 30
    assert "Page 1 of 2" in releases
    assert "?view=all&amp;tag=release&amp;page=2" in releases
    second = text(client.get("/acme/app/-/versions?tag=release&page=2"))
    assert second.count('<li class="version">') == 5
    assert "nightly" not in second.split('class="versions"')[1]
    assert "No versions with a tag containing “zzz”" in text(client.get("/acme/app/-/versions?tag=zzz"))


# --- the install box, the Source link ---------------------------------------------------------------


def test_the_install_box_prefers_latest_over_a_newer_tag(owner: Any) -> None:
    push_image("acme/app", make_image(seed="a"), tag="latest", user=owner)
    push_image("acme/app", make_image(seed="b"), tag="stable", user=owner)
    assert install_tag(package=Package.objects.get(name="acme/app")) == "latest"
    assert f"docker pull {HOST}/acme/app:latest</code>" in text(get(owner, "/acme/app"))


def test_the_install_box_takes_the_newest_tag_that_is_not_a_referrers(owner: Any) -> None:
    image = make_image(seed="a")
    push_image("acme/app", image, tag="1.0", user=owner)
    subject = {"mediaType": OCI_MANIFEST, "digest": image.digest, "size": len(image.manifest)}
    push_image("acme/app", make_image(seed="sig", subject=subject, artifact_type=COSIGN), tag="signed", user=owner)
    package = Package.objects.get(name="acme/app")
    assert install_tag(package=package) == "1.0"
    assert f"docker pull {HOST}/acme/app:1.0</code>" in text(get(owner, "/acme/app"))


def test_the_source_link_is_the_label_url_with_its_own_scheme_when_unlinked(owner: Any) -> None:
    publish("acme/app", owner, Visibility.PUBLIC, source_url="http://git.example.com/acme/app")
    page = text(get(None, "/acme/app"))
    assert '<a class="source-link" href="http://git.example.com/acme/app" rel="noopener nofollow">' in page
    assert "git.example.com/acme/app</a>" in page


def test_the_source_link_is_the_linked_repositorys_page(owner: Any) -> None:
    repository = SourceRepository.objects.create(owner="acme", name="app")
    publish("acme/app", owner, Visibility.PUBLIC, source_url=f"https://{HOST}/acme/app")
    Package.objects.filter(name="acme/app").update(repository=repository)
    page = text(get(None, "/acme/app"))
    assert '<a class="source-link" href="/repos/acme/app/">acme/app</a>' in page
    assert f'href="https://{HOST}/acme/app"' not in page


# --- README and description -----------------------------------------------------------------------

HOSTILE = (
    "# Hello\n\n<script>alert('x')</script>\n\n[click](javascript:alert(1)) "
    '<img src="x" onerror="alert(1)"> <a href="javascript:alert(2)" onclick="alert(3)">raw</a>\n\n'
    "[docs](https://docs.example.com/x)\n"
)


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def assert_inert(fragment: str) -> None:
    """No element that runs code: no <script>/<iframe>, no on* handler, no javascript: URL, no style."""
    parser = _Elements()
    parser.feed(fragment)
    assert parser.found, "nothing rendered"
    for tag, attrs in parser.found:
        assert tag not in {"script", "iframe", "object", "embed", "style"}
        for name, value in attrs:
            assert not name.startswith("on")
            assert name != "style"
            assert not (value or "").strip().lower().startswith(("javascript:", "data:", "vbscript:"))


@pytest.mark.parametrize(
    "hostile_html",
    [
        "<script>alert(1)</script>ok",
        '<img src="x" onerror="alert(1)">',
        '<a href="javascript:alert(1)">x</a>',
        '<a href="https://e.com" onmouseover="alert(1)" style="color:red">x</a>',
        '<iframe src="https://e.com"></iframe>',
    ],
)
def test_the_sanitizer_keeps_no_script_handler_or_javascript_url(hostile_html: str) -> None:
    clean = sanitize_html(hostile_html + "<p>kept</p>")
    assert_inert(clean)
    assert "<p>kept</p>" in clean


def test_a_readme_renders_markdown_with_inert_html_and_nofollow_links() -> None:
    rendered = str(render_readme(HOSTILE))
    assert "<h3>Hello</h3>" in rendered  # headings sit below the page's own
    assert_inert(rendered)
    assert '<a href="https://docs.example.com/x" rel="nofollow noopener">docs</a>' in rendered
    assert "&lt;script&gt;" in rendered  # shown as text, never run


def test_an_admin_sets_a_readme_on_the_settings_page_and_it_renders_sanitized(owner: Any, member: Any) -> None:
    publish("acme/app", owner, Visibility.INTERNAL, description="Plain <b>text</b> see https://example.com/docs")
    client = as_user(owner)
    assert client.post("/acme/app/-/settings/readme", {"readme": HOSTILE}).status_code == 302
    assert Package.objects.get(name="acme/app").readme == HOSTILE.strip()
    page = text(get(member, "/acme/app"))
    readme = page.split('<div class="markdown readme">')[1].split("</div>")[0]
    assert_inert(readme)
    assert '<a href="https://docs.example.com/x" rel="nofollow noopener">docs</a>' in readme
    description = page.split('<p class="description plain-text">')[1].split("</p>")[0]
    assert "Plain &lt;b&gt;text&lt;/b&gt;" in description
    assert 'href="https://example.com/docs"' in description
    assert "nofollow" in description
    assert page.count("<h1") == 1
    assert as_user(member).post("/acme/app/-/settings/readme", {"readme": "mine"}).status_code == 403  # a reader
    assert "mine" not in Package.objects.get(name="acme/app").readme


def test_the_api_sets_and_returns_the_readme(owner: Any, member: Any) -> None:
    publish("acme/app", owner)
    token = make_pat(owner, "read:packages", "write:packages")
    client = Client()
    response = client.patch(
        "/api/orgs/acme/packages/container/app",
        data={"readme": "## Usage\n\nRun it."},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200
    assert response.json()["readme"] == "## Usage\n\nRun it."
    assert "<h4>Usage</h4>" in text(get(owner, "/acme/app"))
    empty = client.patch(
        "/api/orgs/acme/packages/container/app",
        data={},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert empty.status_code == 400


def test_html_in_descriptions_and_readmes_is_escaped_in_titles_too(owner: Any) -> None:
    publish("acme/app", owner, description='"><script>alert(1)</script>')
    page = text(get(owner, "/acme/app"))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
