"""Package pages in the browser (REGISTRY.md "Package pages", "Packages, visibility and access"): home,
owner pages, the package page, versions and settings. alice owns acme, bob is a member, eve an
outsider. A package someone cannot read is, on every page, the same 404 as one that never existed."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from packages_app import uploads
from packages_app.models import DownloadCount, Manifest, Package, Visibility
from packages_app.services.manifests import manifest_put
from packages_app.uploads import Chunk
from tests.oci import OCI_INDEX, OCI_MANIFEST, Image, canonical, make_image, make_index, sha256

COSIGN = "application/vnd.dev.cosign.artifact.sig.v1+json"
SPDX = "application/spdx+json"


# --- helpers --------------------------------------------------------------------------------------


def push_image(name: str, image: Image, tag: str | None = "latest", user: Any = None) -> Manifest:
    for digest, data in image.blobs.items():
        uploads.blob_upload_monolithic(name=name, digest=digest, chunk=Chunk([data], length=len(data)), user=user)
    manifest, _ = manifest_put(
        name=name, reference=tag or image.digest, body=image.manifest, content_type=image.media_type, user=user
    )
    return manifest


def push_index(name: str, tag: str, user: Any = None, platforms: tuple[str, ...] = ("amd64", "arm64")) -> Manifest:
    images = [(make_image(arch=arch, seed=name), {"os": "linux", "architecture": arch}) for arch in platforms]
    for image, _ in images:
        push_image(name, image, tag=None, user=user)
    manifest, _ = manifest_put(name=name, reference=tag, body=make_index(images), content_type=OCI_INDEX, user=user)
    return manifest


def publish(name: str, user: Any, visibility: str = Visibility.PRIVATE, **fields: str) -> Package:
    """A package pushed by ``user`` with one tagged image, then given ``visibility`` and page fields."""
    push_image(name, make_image(seed=name), tag="1.0", user=user)
    Package.objects.filter(name=name).update(visibility=visibility, **fields)
    return Package.objects.get(name=name)


def as_user(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def text(response: Any) -> str:
    return str(response.content.decode())


def without_csrf(body: bytes) -> bytes:
    """Each render masks the CSRF token differently; everything else must match byte for byte."""
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", body)


@pytest.fixture
def people(owner: Any, member: Any, outsider: Any) -> dict[str, Any]:
    return {"owner": owner, "member": member, "outsider": outsider, "anonymous": None}


# --- who sees a package ---------------------------------------------------------------------------

# (visibility, person) -> can they read acme/app? The rules themselves live in packages_app.access.
READABLE: dict[tuple[str, str], bool] = {
    (Visibility.PRIVATE, "owner"): True,
    (Visibility.PRIVATE, "member"): False,
    (Visibility.PRIVATE, "outsider"): False,
    (Visibility.PRIVATE, "anonymous"): False,
    (Visibility.INTERNAL, "owner"): True,
    (Visibility.INTERNAL, "member"): True,
    (Visibility.INTERNAL, "outsider"): False,
    (Visibility.INTERNAL, "anonymous"): False,
    (Visibility.PUBLIC, "owner"): True,
    (Visibility.PUBLIC, "member"): True,
    (Visibility.PUBLIC, "outsider"): True,
    (Visibility.PUBLIC, "anonymous"): True,
}
PAGES = ["/acme/app", "/acme/app/-/versions"]


@pytest.mark.parametrize(("visibility", "person"), list(READABLE))
@pytest.mark.parametrize("path", PAGES)
def test_a_package_page_shows_only_to_people_who_can_read_it(
    people: dict[str, Any], visibility: str, person: str, path: str
) -> None:
    publish("acme/app", people["owner"], visibility)
    response = as_user(people[person]).get(path)
    assert response.status_code == (200 if READABLE[(visibility, person)] else 404)


@pytest.mark.parametrize("person", ["member", "outsider", "anonymous"])
@pytest.mark.parametrize("suffix", ["", "/-/versions", "/-/settings"])
def test_a_private_package_is_the_same_404_as_one_that_never_existed(
    people: dict[str, Any], person: str, suffix: str
) -> None:
    publish("acme/secret", people["owner"])
    client = as_user(people[person])
    private, missing = client.get(f"/acme/secret{suffix}"), client.get(f"/acme/nothing{suffix}")
    hidden = client.get(f"/acme/secret{suffix}".replace("secret", "nothing"))
    assert private.status_code == missing.status_code == 404
    private_again = client.get(f"/acme/nothing{suffix}".replace("nothing", "secret"))
    assert without_csrf(private_again.content) == without_csrf(hidden.content)
    assert sorted(private.headers) == sorted(missing.headers)
    # the same path, once private and once deleted for good, answers the same body
    Package.objects.filter(name="acme/secret").delete()
    gone = client.get(f"/acme/secret{suffix}")
    assert gone.status_code == 404
    assert without_csrf(gone.content) == without_csrf(private.content)
    assert "acme/secret" not in text(private)


def test_a_private_visibility_post_is_the_same_404_as_for_a_missing_package(people: dict[str, Any]) -> None:
    publish("acme/secret", people["owner"])
    client = as_user(people["outsider"])
    private = client.post("/acme/secret/-/settings/visibility", {"visibility": "public", "confirm": "acme/secret"})
    missing = client.post("/acme/nothing/-/settings/visibility", {"visibility": "public", "confirm": "acme/nothing"})
    assert private.status_code == missing.status_code == 404
    assert Package.objects.get(name="acme/secret").visibility == Visibility.PRIVATE


def test_a_package_with_a_slashed_name_has_its_pages_under_the_full_path(owner: Any) -> None:
    publish("acme/tools/builder", owner, description="Builds things")
    client = as_user(owner)
    page = client.get("/acme/tools/builder")
    assert page.status_code == 200
    assert "tools/builder" in text(page)
    assert "Builds things" in text(page)
    assert client.get("/acme/tools/builder/-/versions").status_code == 200
    assert client.get("/acme/tools/builder/-/settings").status_code == 200
    assert client.get("/acme/tools").status_code == 404


# --- the package page -----------------------------------------------------------------------------


def test_the_package_page_shows_description_license_source_and_pull_command(owner: Any, settings: Any) -> None:
    settings.WHARF_PUBLIC_URL = "https://registry.example.com"
    publish(
        "acme/app",
        owner,
        Visibility.PUBLIC,
        description="A <b>tiny</b> web server",
        licenses="Apache-2.0",
        source_url="https://git.example.com/acme/app",
    )
    page = text(as_user(None).get("/acme/app", HTTP_HOST="evil.test"))
    assert "A &lt;b&gt;tiny&lt;/b&gt; web server" in page
    assert "Apache-2.0" in page
    assert '<a class="source-link" href="https://git.example.com/acme/app" rel="noopener nofollow">' in page
    assert "docker pull registry.example.com/acme/app:1.0" in page  # WHARF_PUBLIC_URL, never the Host header
    assert "evil.test" not in page
    assert 'data-copy="pull-command"' in page


@pytest.mark.parametrize(
    "source", ["javascript:alert(1)", "data:text/html,hi", "ftp://example.com/x", "//evil.example"]
)
def test_a_source_that_is_not_an_http_link_is_not_a_link(owner: Any, source: str) -> None:
    publish("acme/app", owner, source_url=source)
    page = text(as_user(owner).get("/acme/app"))
    assert 'class="source-link"' not in page
    assert f'href="{source}"' not in page


def test_the_pull_command_uses_the_newest_tag_and_never_a_fallback_tag(owner: Any, settings: Any) -> None:
    settings.WHARF_PUBLIC_URL = "https://wharf.test"
    publish("acme/app", owner)
    push_image("acme/app", make_image(seed="two"), tag="2.0", user=owner)
    signature = make_image(seed="sig", artifact_type=COSIGN)
    push_image("acme/app", signature, tag="sha256-" + "a" * 64 + ".sig", user=owner)
    page = text(as_user(owner).get("/acme/app"))
    assert "docker pull wharf.test/acme/app:2.0" in page
    assert "docker pull wharf.test/acme/app:sha256-" not in page


def test_a_package_with_only_fallback_tags_has_no_pull_command(owner: Any, settings: Any) -> None:
    settings.WHARF_PUBLIC_URL = "https://wharf.test"
    push_image("acme/app", make_image(seed="x"), tag="sha256-" + "b" * 64, user=owner)
    page = text(as_user(owner).get("/acme/app"))
    assert "docker pull wharf.test/acme/app:" not in page
    assert "No tagged version yet" in page


def test_the_package_page_shows_the_platforms_of_a_multi_architecture_image(owner: Any) -> None:
    push_index("acme/multi", "2.0", user=owner)
    page = text(as_user(owner).get("/acme/multi"))
    assert '<span class="platform">linux/amd64</span>' in page
    assert '<span class="platform">linux/arm64</span>' in page


def test_extracted_platforms_win_over_the_index_descriptors(owner: Any) -> None:
    index = push_index("acme/multi", "2.0", user=owner)
    Manifest.objects.filter(pk=index.pk).update(
        platforms=[{"os": "linux", "architecture": "arm", "variant": "v7", "digest": "sha256:x"}],
        extracted_at=timezone.now(),
    )
    page = text(as_user(owner).get("/acme/multi"))
    assert '<span class="platform">linux/arm/v7</span>' in page
    assert "linux/amd64" not in page


def test_attestation_entries_of_an_index_are_not_platforms(owner: Any) -> None:
    amd64 = make_image(arch="amd64", seed="att")
    attestation = make_image(arch="unknown", seed="att2")
    for image in (amd64, attestation):
        push_image("acme/multi", image, tag=None, user=owner)
    body = make_index(
        [(amd64, {"os": "linux", "architecture": "amd64"}), (attestation, {"os": "unknown", "architecture": "unknown"})]
    )
    manifest_put(name="acme/multi", reference="1", body=body, content_type=OCI_INDEX, user=owner)
    page = text(as_user(owner).get("/acme/multi"))
    assert "linux/amd64" in page
    assert "unknown/unknown" not in page


def test_the_package_page_counts_downloads_and_draws_them_per_day(owner: Any) -> None:
    package = publish("acme/app", owner)
    manifest = package.manifests.get()
    today = timezone.localdate()
    DownloadCount.objects.create(manifest=manifest, day=today, count=7)
    DownloadCount.objects.create(manifest=manifest, day=today - timedelta(days=3), count=3)
    DownloadCount.objects.create(manifest=manifest, day=today - timedelta(days=90), count=100)
    page = text(as_user(owner).get("/acme/app"))
    assert '<p class="downloads-total"><strong>110</strong>' in page
    bars = re.findall(r"<rect [^>]*><title>([^<]+)</title></rect>", page)
    assert bars == [
        f"{(today - timedelta(days=3)):%b} {(today - timedelta(days=3)).day}: 3",
        f"{today:%b} {today.day}: 7",
    ]
    assert 'role="img"' in page
    assert "peak 7/day" in page


def test_a_download_through_the_registry_is_counted_on_the_page(owner: Any, settings: Any) -> None:
    settings.WHARF_ANONYMOUS_PUSH = True  # pull anonymously through /v2/ without a token
    # Each pull written at once: with batching, whether this pull is written depends on how long ago
    # the process started (the first batch waits WHARF_PULL_COUNT_FLUSH_SECONDS), so the test alone failed.
    settings.WHARF_PULL_COUNT_FLUSH_SECONDS = 0
    publish("acme/app", owner, Visibility.PUBLIC)
    assert Client().get("/v2/acme/app/manifests/1.0", HTTP_ACCEPT=OCI_MANIFEST).status_code == 200
    assert '<p class="downloads-total"><strong>1</strong>' in text(as_user(None).get("/acme/app"))


def test_the_settings_tab_shows_only_to_admins(people: dict[str, Any]) -> None:
    publish("acme/app", people["owner"], Visibility.PUBLIC)
    assert "/acme/app/-/settings" in text(as_user(people["owner"]).get("/acme/app"))
    for person in ("member", "outsider", "anonymous"):
        assert "/acme/app/-/settings" not in text(as_user(people[person]).get("/acme/app"))


# --- versions -------------------------------------------------------------------------------------


def test_versions_show_digest_tags_size_platforms_downloads_and_referrers(owner: Any) -> None:
    image = make_image(seed="v1")
    manifest = push_image("acme/app", image, tag="1.0", user=owner)
    DownloadCount.objects.create(manifest=manifest, day=timezone.localdate(), count=4)
    subject = {"mediaType": OCI_MANIFEST, "digest": image.digest, "size": len(image.manifest)}
    signature = make_image(seed="s", subject=subject, artifact_type=COSIGN)
    sbom = make_image(seed="b", subject=subject, artifact_type=SPDX)
    push_image("acme/app", signature, tag=None, user=owner)
    push_image("acme/app", sbom, tag=None, user=owner)
    page = text(as_user(owner).get("/acme/app/-/versions"))
    assert image.digest in page
    assert '<span class="tag">1.0</span>' in page
    size = len(image.config) + sum(len(layer) for layer in image.layers)
    assert f"<span>{size}\xa0bytes</span>" in page
    assert "4 downloads" in page
    assert 'class="badge ref-signature">Signature</span>' in page
    assert COSIGN in page
    assert 'class="badge ref-sbom">SBOM</span>' in page
    assert SPDX in page
    assert f'title="{signature.digest}">{signature.digest}</a>' not in page  # listed under its subject only


def test_an_index_is_one_version_sized_by_its_platform_images(owner: Any) -> None:
    index = push_index("acme/multi", "2.0", user=owner)
    page = text(as_user(owner).get("/acme/multi/-/versions"))
    assert page.count('<li class="version">') == 1
    children = Manifest.objects.filter(parents=index)
    size = sum(
        len(c.content) and sum(part["size"] for part in [_doc(c)["config"], *_doc(c)["layers"]]) for c in children
    )
    assert (size > 0 and f"{size}\xa0bytes" in page) or f"{size / 1024:.1f}\xa0KB" in page
    assert "linux/amd64" in page
    assert "linux/arm64" in page
    assert "multi-arch" in page


def _doc(manifest: Manifest) -> Any:

    return json.loads(bytes(manifest.content))


def test_versions_can_be_viewed_tagged_or_untagged(owner: Any) -> None:
    publish("acme/app", owner)
    untagged = make_image(seed="loose")
    push_image("acme/app", untagged, tag=None, user=owner)
    client = as_user(owner)
    tagged_page = text(client.get("/acme/app/-/versions?view=tagged"))
    untagged_page = text(client.get("/acme/app/-/versions?view=untagged"))
    everything = text(client.get("/acme/app/-/versions"))
    assert untagged.digest not in tagged_page
    assert untagged.digest in untagged_page
    assert untagged.digest in everything
    assert untagged_page.count('<li class="version">') == 1
    assert everything.count('<li class="version">') == 2
    assert text(client.get("/acme/app/-/versions?view=bogus")).count('<li class="version">') == 2


def test_the_versions_page_is_paginated(owner: Any) -> None:
    for i in range(32):
        push_image("acme/app", make_image(seed=f"v{i}"), tag=f"v{i}", user=owner)
    client = as_user(owner)
    first, second = text(client.get("/acme/app/-/versions")), text(client.get("/acme/app/-/versions?page=2"))
    assert first.count('<li class="version">') == 30
    assert second.count('<li class="version">') == 2
    assert "Page 2 of 2" in second


# --- settings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("visibility", "person", "status"),
    [
        (Visibility.PRIVATE, "owner", 200),
        (Visibility.PRIVATE, "member", 404),
        (Visibility.PRIVATE, "outsider", 404),
        (Visibility.PRIVATE, "anonymous", 404),
        (Visibility.INTERNAL, "member", 403),
        (Visibility.INTERNAL, "outsider", 404),
        (Visibility.PUBLIC, "member", 403),
        (Visibility.PUBLIC, "outsider", 403),
        (Visibility.PUBLIC, "anonymous", 403),
    ],
)
def test_settings_are_for_admins_and_hidden_from_people_who_cannot_read(
    people: dict[str, Any], visibility: str, person: str, status: int
) -> None:
    publish("acme/app", people["owner"], visibility)
    assert as_user(people[person]).get("/acme/app/-/settings").status_code == status


def test_the_publisher_of_a_package_administers_it(member: Any) -> None:
    publish("acme/bobs", member)
    assert as_user(member).get("/acme/bobs/-/settings").status_code == 200


def test_an_admin_makes_a_package_internal(owner: Any) -> None:
    publish("acme/app", owner)
    response = as_user(owner).post("/acme/app/-/settings/visibility", {"visibility": "internal"}, follow=True)
    assert response.redirect_chain == [("/acme/app/-/settings", 302)]
    assert "acme/app is now internal." in text(response)
    assert Package.objects.get(name="acme/app").visibility == Visibility.INTERNAL


def test_the_settings_page_warns_that_public_is_final_before_confirming(owner: Any) -> None:
    publish("acme/app", owner)
    page = text(as_user(owner).get("/acme/app/-/settings"))
    assert "Making a package public cannot be undone." in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert 'value="internal"' in page  # acme is an organization


def test_making_a_package_public_needs_its_name_typed_and_keeps_the_input(owner: Any) -> None:
    publish("acme/app", owner)
    response = as_user(owner).post("/acme/app/-/settings/visibility", {"visibility": "public", "confirm": "acme/ap"})
    assert response.status_code == 200
    page = text(response)
    assert "Type “acme/app” to confirm: a public package cannot be made private again." in page
    assert 'value="acme/ap"' in page
    assert 'value="public" id="id_visibility_2" required checked' in page
    assert Package.objects.get(name="acme/app").visibility == Visibility.PRIVATE


def test_a_public_package_cannot_be_made_private_again(owner: Any) -> None:
    publish("acme/app", owner)
    client = as_user(owner)
    client.post("/acme/app/-/settings/visibility", {"visibility": "public", "confirm": "acme/app"})
    assert Package.objects.get(name="acme/app").visibility == Visibility.PUBLIC
    page = text(client.get("/acme/app/-/settings"))
    assert "Public packages cannot be made private or internal again." in page
    assert 'action="/acme/app/-/settings/visibility"' not in page
    response = client.post("/acme/app/-/settings/visibility", {"visibility": "private"})
    assert response.status_code == 200
    assert "A public package cannot be made private or internal again." in text(response)
    assert Package.objects.get(name="acme/app").visibility == Visibility.PUBLIC


def test_a_reader_who_is_not_an_admin_cannot_change_visibility(member: Any, owner: Any) -> None:
    publish("acme/app", owner, Visibility.INTERNAL)
    response = as_user(member).post("/acme/app/-/settings/visibility", {"visibility": "public", "confirm": "acme/app"})
    assert response.status_code == 403
    assert Package.objects.get(name="acme/app").visibility == Visibility.INTERNAL


def test_a_visibility_change_needs_a_csrf_token(owner: Any) -> None:
    publish("acme/app", owner)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post("/acme/app/-/settings/visibility", {"visibility": "internal"})
    assert response.status_code == 403
    assert Package.objects.get(name="acme/app").visibility == Visibility.PRIVATE


def test_a_user_namespace_has_no_internal_visibility(outsider: Any) -> None:
    publish("eve/tool", outsider)
    page = text(as_user(outsider).get("/eve/tool/-/settings"))
    assert 'value="private"' in page
    assert 'value="public"' in page
    assert 'value="internal"' not in page


# --- owner pages and home -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("person", "visible"),
    [
        ("owner", {"acme/private", "acme/internal", "acme/public"}),
        ("member", {"acme/internal", "acme/public"}),
        ("outsider", {"acme/public"}),
        ("anonymous", {"acme/public"}),
    ],
)
def test_an_organization_page_lists_the_packages_the_viewer_may_read(
    people: dict[str, Any], person: str, visible: set[str]
) -> None:
    for visibility in Visibility:
        publish(f"acme/{visibility.value}", people["owner"], visibility, description=f"the {visibility.value} one")
    response = as_user(people[person]).get("/acme/")
    assert response.status_code == 200
    listed = set(re.findall(r'<a class="pkg-link" href="/(acme/[a-z]+)">', text(response)))
    assert listed == visible
    assert "Updated " in text(response)


def test_an_owner_page_filters_packages_by_name(owner: Any) -> None:
    publish("acme/web", owner, Visibility.PUBLIC)
    publish("acme/worker", owner, Visibility.PUBLIC)
    page = text(as_user(None).get("/acme/?q=web"))
    assert 'href="/acme/web"' in page
    assert 'href="/acme/worker"' not in page
    assert "No package matches “nothing”." in text(as_user(None).get("/acme/?q=nothing"))


def test_a_user_has_an_owner_page_too(outsider: Any) -> None:
    publish("eve/tool", outsider, Visibility.PUBLIC)
    page = text(as_user(None).get("/eve/"))
    assert 'href="/eve/tool"' in page
    assert "User" in page


def test_an_unknown_owner_is_a_404_and_private_packages_do_not_reveal_a_namespace(people: dict[str, Any]) -> None:
    assert as_user(None).get("/nobody/").status_code == 404
    publish("ghost/app", people["owner"])  # a namespace with no account (an open registry's push)
    assert as_user(people["outsider"]).get("/ghost/").status_code == 404


def test_the_organization_page_links_members_to_people_and_teams(people: dict[str, Any]) -> None:
    assert "/orgs/acme/" in text(as_user(people["member"]).get("/acme/"))
    assert "/orgs/acme/" not in text(as_user(people["outsider"]).get("/acme/"))


def test_site_routes_are_not_owner_pages(owner: Any) -> None:
    client = as_user(owner)
    assert client.get("/settings/tokens/").status_code == 200
    assert client.get("/orgs/acme/").status_code == 200
    assert client.get("/v2/").status_code in {200, 401}


def test_home_invites_visitors_to_sign_in_or_up(db: None) -> None:
    page = text(as_user(None).get("/"))
    assert 'href="/accounts/signup/"' in page
    assert 'href="/accounts/login/"' in page


def test_home_lists_public_packages_with_search(people: dict[str, Any]) -> None:
    publish("acme/web", people["owner"], Visibility.PUBLIC)
    publish("acme/db", people["owner"], Visibility.PUBLIC)
    publish("acme/hidden", people["owner"])
    page = text(as_user(None).get("/"))
    assert 'href="/acme/web"' in page
    assert 'href="/acme/db"' in page
    assert "acme/hidden" not in page
    searched = text(as_user(None).get("/?q=we"))
    assert 'href="/acme/web"' in searched
    assert 'href="/acme/db"' not in searched


@pytest.mark.parametrize(
    ("person", "mine"),
    [
        ("owner", {"acme/private", "acme/internal", "acme/public"}),
        ("member", {"acme/internal", "acme/public"}),
        ("outsider", set()),
    ],
)
def test_home_shows_signed_in_people_their_packages_and_organizations(
    people: dict[str, Any], person: str, mine: set[str]
) -> None:
    for visibility in Visibility:
        publish(f"acme/{visibility.value}", people["owner"], visibility)
    page = text(as_user(people[person]).get("/"))
    sidebar = page.split('<aside class="sidebar left">', 1)[1].split("</aside>", 1)[0]
    assert set(re.findall(r'href="/(acme/[a-z]+)"', sidebar)) == mine
    assert ('href="/acme/"' in sidebar) is (person != "outsider")


def test_pages_escape_what_pushers_wrote(owner: Any) -> None:
    publish("acme/app", owner, Visibility.PUBLIC, description='"><script>alert(1)</script>', licenses="<i>MIT</i>")
    for path in ("/acme/app", "/acme/", "/"):
        page = text(as_user(None).get(path))
        assert "<script>alert(1)</script>" not in page
        assert "<i>MIT</i>" not in page


def test_pages_use_only_the_sites_own_assets(owner: Any) -> None:
    publish("acme/app", owner, Visibility.PUBLIC)
    for path in ("/", "/acme/", "/acme/app", "/acme/app/-/versions"):
        page = text(as_user(owner).get(path))
        assets = re.findall(r'(?:src|href)="([^"]+\.(?:css|js|woff2?|png|svg))"', page)
        assert assets
        assert all(a.startswith("/static/") for a in assets)
        assert "https://" not in re.sub(r'href="https://git[^"]*"', "", page).split("<main")[0]


def test_the_index_document_builder_is_what_the_pages_parse(db: None) -> None:
    """Guard for the helpers above: an index's descriptors carry the platform the pages read."""
    image = make_image(arch="arm64")
    doc = canonical({"manifests": [image.descriptor({"os": "linux", "architecture": "arm64"})]})
    assert b'"platform":{"architecture":"arm64","os":"linux"}' in doc
    assert sha256(doc).startswith("sha256:")
