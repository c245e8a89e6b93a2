"""The package pages in a real Chromium against a real, closed Wharf (issue 5's acceptance): sign up,
create a token on the token page, push a labelled image with that token (skopeo), read it on its
package page, make it public in its settings and see it signed out, then push a two-platform index
and see both platforms. Screenshots go to tests/artifacts/ (gitignored) for people to look at."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from packages_app.metadata import manifest_extract_metadata
from packages_app.models import Manifest, Package, Visibility
from tests.e2e.conftest import WharfServer
from tests.e2e.test_skopeo import image_layout, run_skopeo, write_oci_layout
from tests.oci import OCI_INDEX, canonical, layer_tar, make_image, sha256

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
USERNAME = "wendy"
PASSWORD = "a long passphrase 1"
LABELS = {
    "org.opencontainers.image.description": "A tiny web server for static sites.\nServes files, gzip, ranges.",
    "org.opencontainers.image.licenses": "Apache-2.0",
    "org.opencontainers.image.source": "https://git.example.com/wendy/web",
}
LAPTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture(scope="session", autouse=True)
def async_unsafe_orm() -> Iterator[None]:
    """Playwright's sync API runs an event loop in this thread for the whole session; the database set-up
    and the test's own ORM calls are still synchronous (shared/TOOLS.md)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture
def laptop(browser: Browser, wharf_site: WharfServer) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=f"http://{wharf_site.host}", viewport=LAPTOP)
    yield context
    context.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_up(page: Page) -> None:
    response = page.goto("/")
    assert response is not None, page.content()[:3000]
    assert response.status == 200, page.content()[:3000]
    page.get_by_role("link", name="Sign up").first.click()
    page.fill("input[name=username]", USERNAME)
    page.fill("input[name=email]", f"{USERNAME}@example.com")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".topbar")).to_contain_text(f"Sign out {USERNAME}")


def create_token(page: Page) -> str:
    page.goto("/settings/tokens/")
    page.get_by_role("link", name="Generate new token").first.click()
    page.fill("input[name=note]", "laptop push")
    page.check('input[value="write:packages"]')
    page.select_option("select[name=expiration]", "30")
    page.get_by_role("button", name="Generate token").click()
    expect(page.get_by_text("Copy your token now.")).to_be_visible()
    token = page.input_value("#token-value")
    assert token.startswith("wharf_pat_")
    page.get_by_role("button", name="Copy").first.click()
    expect(page.get_by_role("button", name="Copied!")).to_be_visible()
    shot(page, "token-created")
    page.goto("/settings/tokens/")
    expect(page.locator("table")).to_contain_text("write:packages")
    shot(page, "tokens")
    return token


def push_labelled_image(skopeo: str, server: WharfServer, token: str, tmp_path: Path) -> Manifest:
    image = make_image(labels=LABELS, layers=[layer_tar({"srv/index.html": b"<h1>hello</h1>\n"})], seed="web")
    image_layout(tmp_path / "web", "1.0", image)
    ref = f"docker://{server.host}/{USERNAME}/web:1.0"
    run_skopeo(
        skopeo,
        "copy",
        "--dest-tls-verify=false",
        f"--dest-creds={USERNAME}:{token}",
        f"oci:{tmp_path / 'web'}:1.0",
        ref,
    )
    return Manifest.objects.get(package__name=f"{USERNAME}/web", digest=image.digest)


def push_two_platform_index(skopeo: str, server: WharfServer, token: str, tmp_path: Path) -> Manifest:
    images = [make_image(arch=arch, labels=LABELS, seed=f"multi-{arch}") for arch in ("amd64", "arm64")]
    descriptors = [
        i.descriptor({"os": "linux", "architecture": a}) for i, a in zip(images, ("amd64", "arm64"), strict=True)
    ]
    index = canonical_index(descriptors)
    top = {"mediaType": OCI_INDEX, "digest": sha256(index), "size": len(index)}
    blobs = [index, *(i.manifest for i in images), *(b for i in images for b in i.blobs.values())]
    write_oci_layout(tmp_path / "multi", "2.0", top, blobs)
    ref = f"docker://{server.host}/{USERNAME}/web:2.0"
    run_skopeo(
        skopeo,
        "copy",
        "--all",
        "--dest-tls-verify=false",
        f"--dest-creds={USERNAME}:{token}",
        f"oci:{tmp_path / 'multi'}:2.0",
        ref,
    )
    return Manifest.objects.get(package__name=f"{USERNAME}/web", digest=top["digest"])


def canonical_index(descriptors: list[dict[str, Any]]) -> bytes:

    return canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors})


def extract(manifest: Manifest) -> None:
    """The extraction task (packages_app.metadata, run by Celery after a push) has no worker in this
    test: run it here, synchronously, for the version and its platform images."""
    for child in manifest.children.all():
        manifest_extract_metadata(manifest_id=child.id)
    manifest_extract_metadata(manifest_id=manifest.id)


def test_a_person_signs_up_pushes_with_a_token_publishes_and_browses_their_package(
    laptop: BrowserContext, browser: Browser, wharf_site: WharfServer, skopeo: str, tmp_path: Path
) -> None:
    server, page = wharf_site, laptop.new_page()
    sign_up(page)
    token = create_token(page)

    extract(push_labelled_image(skopeo, server, token, tmp_path))

    page.goto(f"/{USERNAME}/web")
    expect(page.locator(".pkg-title")).to_contain_text(f"{USERNAME}/web")
    expect(page.locator(".pkg-title .badge")).to_have_text("Private")
    expect(page.locator(".description")).to_contain_text("A tiny web server for static sites.")
    expect(page.locator(".details")).to_contain_text("Apache-2.0")
    source = page.locator("a.source-link")
    expect(source).to_have_attribute("href", "https://git.example.com/wendy/web")
    expect(source).to_have_attribute("rel", "noopener nofollow")
    expect(page.locator("#pull-command")).to_have_text(f"docker pull {server.host}/{USERNAME}/web:1.0")
    assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).display") == "flex"  # CSS served

    # signed out, the private package is the site's 404
    visitor = browser.new_context(base_url=f"http://{server.host}", viewport=LAPTOP)
    anonymous = visitor.new_page()
    assert anonymous.goto(f"/{USERNAME}/web").status == 404  # type: ignore[union-attr]

    page.get_by_role("link", name="Settings").click()
    expect(page.locator(".warning-box").filter(has_text="Making a package public")).to_contain_text(
        "Making a package public cannot be undone."
    )
    page.check('input[name=visibility][value="public"]')
    page.fill("input[name=confirm]", f"{USERNAME}/web")
    shot(page, "settings")
    page.get_by_role("button", name="Change visibility").click()
    expect(page.locator(".message")).to_have_text(f"{USERNAME}/web is now public.")
    expect(page.locator("#visibility")).to_contain_text("Public packages cannot be made private or internal again.")
    assert Package.objects.get(name=f"{USERNAME}/web").visibility == Visibility.PUBLIC

    run_skopeo(skopeo, "inspect", "--raw", "--tls-verify=false", f"docker://{server.host}/{USERNAME}/web:1.0")  # a pull
    assert anonymous.goto(f"/{USERNAME}/web").status == 200  # type: ignore[union-attr]
    expect(anonymous.locator(".description")).to_contain_text("A tiny web server")
    # Pulls are written in batches (each second in these tests): the page shows it after the next one.
    deadline = time.monotonic() + 5
    while anonymous.locator(".downloads-total strong").inner_text() != "1" and time.monotonic() < deadline:
        time.sleep(0.3)
        anonymous.reload()
    expect(anonymous.locator(".downloads-total strong")).to_have_text("1")
    expect(anonymous.get_by_role("link", name="Settings")).to_have_count(0)
    anonymous.goto("/?q=web")
    expect(anonymous.locator(".package-list")).to_contain_text(f"{USERNAME}/web")
    visitor.close()

    extract(push_two_platform_index(skopeo, server, token, tmp_path))
    page.goto(f"/{USERNAME}/web")
    expect(page.locator("#pull-command")).to_have_text(f"docker pull {server.host}/{USERNAME}/web:2.0")
    expect(page.locator(".install .platform")).to_have_text(["linux/amd64", "linux/arm64"])
    shot(page, "package")
    page.get_by_role("link", name="Versions").first.click()
    versions = page.locator("li.version")
    expect(versions).to_have_count(2)
    expect(versions.first.locator(".platform")).to_have_text(["linux/amd64", "linux/arm64"])
    expect(versions.nth(1)).to_contain_text("1 download")
    shot(page, "versions")
    page.goto(f"/{USERNAME}/")
    expect(page.locator(".package-list")).to_contain_text("web")
    shot(page, "owner")

    phone = browser.new_context(base_url=f"http://{server.host}", viewport=PHONE, is_mobile=True, device_scale_factor=2)
    small = phone.new_page()
    small.goto(f"/{USERNAME}/web")
    expect(small.locator(".install .platform")).to_have_count(2)
    assert small.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # nothing overflows sideways
    shot(small, "package-phone")
    small.goto("/")
    shot(small, "home-phone")
    phone.close()
    assert re.fullmatch(r"wharf_pat_\S+", token)
