"""``GET /v2/_catalog``: owner, member, outsider and anonymous, by private, internal and public packages.

The expected lists restate the pull rules (REGISTRY.md "Packages, visibility and access"): alice owns
``acme`` and reads everything of it; bob, a member, reads internal and public ones and his own; eve, an
outsider, reads public ones and her own; anonymous callers read public ones. Each page's ``Link``
names only what the caller can pull, so walking the pages reveals no other name.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from packages_app.models import Package
from packages_app.services.packages import package_for_write
from tests.conftest import basic, make_pat

PACKAGES = {
    "acme/private-a": "private",
    "acme/internal-b": "internal",
    "acme/public-c": "public",
    "acme/private-d": "private",
    "acme/public-e": "public",
    "acme/internal-f": "internal",
}
PUBLIC = ["acme/public-c", "acme/public-e"]
INTERNAL = ["acme/internal-b", "acme/internal-f"]


@pytest.fixture
def packages(owner: Any, member: Any, outsider: Any) -> None:
    for name, visibility in PACKAGES.items():
        package = package_for_write(name=name, user=owner)
        Package.objects.filter(id=package.id).update(visibility=visibility)
    package_for_write(name="bob/own", user=member)
    package_for_write(name="eve/own", user=outsider)


def walk(client: Client, headers: dict[str, Any], n: int) -> tuple[list[str], list[str]]:
    """Every page of the catalog, ``n`` at a time: the names, and each Link's ``last``."""
    names, lasts, url = [], [], f"/v2/_catalog?n={n}"
    while url:
        answer = client.get(url, **headers)
        assert answer.status_code == 200, answer.content
        names += answer.json()["repositories"]
        link = answer.headers.get("Link")
        url = ""
        if link:
            match = re.fullmatch(r'<(/v2/_catalog\?n=\d+&last=([^>]+))>; rel="next"', link)
            assert match, link
            url, last = match.group(1), unquote(match.group(2))
            lasts.append(last)
    return names, lasts


@pytest.mark.parametrize(
    ("person", "expected"),
    [
        ("alice", sorted(PACKAGES)),
        ("bob", sorted([*INTERNAL, *PUBLIC, "bob/own"])),
        ("eve", sorted([*PUBLIC, "eve/own"])),
        ("anonymous", sorted(PUBLIC)),
    ],
)
@pytest.mark.parametrize("n", [1, 2, 100])
def test_each_caller_sees_exactly_what_they_can_pull(
    packages: None, client: Client, person: str, expected: list[str], n: int
) -> None:
    headers: dict[str, Any] = {}
    if person != "anonymous":
        user = get_user_model().objects.get(username=person)
        headers = {"HTTP_AUTHORIZATION": basic(person, make_pat(user, "read:packages"))}
    names, lasts = walk(client, headers, n)
    assert names == expected
    assert set(lasts) <= set(expected)  # a Link never names what the caller cannot pull
    assert len(lasts) == (len(expected) - 1) // n


def test_a_registry_bearer_token_lists_what_its_user_can_pull(packages: None, member: Any, client: Client) -> None:
    issued = client.get("/token?scope=registry:catalog:*", HTTP_AUTHORIZATION=basic("bob", make_pat(member)))
    assert issued.status_code == 200, issued.content
    answer = client.get("/v2/_catalog", HTTP_AUTHORIZATION=f"Bearer {issued.json()['token']}")
    assert answer.json()["repositories"] == sorted([*INTERNAL, *PUBLIC, "bob/own"])


def test_last_naming_a_private_package_reveals_nothing(packages: None, client: Client) -> None:
    after_private = client.get("/v2/_catalog?last=acme/private-a").json()
    after_missing = client.get("/v2/_catalog?last=acme/private-a0").json()
    assert after_private == after_missing == {"repositories": PUBLIC}


def test_n_is_capped_and_bad_n_is_refused(packages: None, client: Client, settings: Any) -> None:
    settings.WHARF_CATALOG_MAX_ENTRIES = 1
    answer = client.get("/v2/_catalog?n=1000000")
    assert answer.json() == {"repositories": ["acme/public-c"]}
    assert answer.headers["Link"] == '</v2/_catalog?n=1&last=acme/public-c>; rel="next"'
    assert client.get("/v2/_catalog?n=0").json() == {"repositories": []}
    refused = client.get("/v2/_catalog?n=-1")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["code"] == "PAGINATION_NUMBER_INVALID"


def test_bad_credentials_are_refused_not_downgraded(packages: None, client: Client) -> None:
    answer = client.get("/v2/_catalog", HTTP_AUTHORIZATION=basic("alice", "wharf_pat_wrong"))
    assert answer.status_code == 401
    assert answer.json()["errors"][0]["code"] == "UNAUTHORIZED"


@pytest.mark.parametrize("n", ["\uff11", "\u0663", "+1", " 1"])
def test_n_takes_ascii_digits_only(packages: None, client: Client, n: str) -> None:
    refused = client.get("/v2/_catalog", {"n": n})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["code"] == "PAGINATION_NUMBER_INVALID"


@pytest.mark.parametrize("n", ["9223372036854775807", "1" + "0" * 5000], ids=["int64-max", "5001-digits"])
def test_a_huge_n_is_the_cap(packages: None, client: Client, settings: Any, n: str) -> None:
    settings.WHARF_CATALOG_MAX_ENTRIES = 1
    answer = client.get(f"/v2/_catalog?n={n}")
    assert answer.status_code == 200
    assert answer.json() == {"repositories": ["acme/public-c"]}
    assert answer.headers["Link"] == '</v2/_catalog?n=1&last=acme/public-c>; rel="next"'


def test_a_last_holding_a_nul_byte_lists_what_follows_its_prefix(packages: None, client: Client) -> None:
    answer = client.get("/v2/_catalog", {"last": "acme/public-c\x00zzz"})
    assert answer.status_code == 200
    assert answer.json() == {"repositories": ["acme/public-e"]}
