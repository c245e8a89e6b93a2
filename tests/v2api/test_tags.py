"""``GET /v2/<name>/tags/list`` with ``n`` and ``last`` (distribution-spec "Listing Tags", end-8a, end-8b)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.oci import OCI_MANIFEST, make_image

# Shuffled on purpose; ASCII order puts digits before uppercase before "_" before lowercase.
TAGS = ["latest", "V2", "1.0", "alpha", "Beta", "_private", "v1", "1.10", "1.9"]
ASCII_ORDER = ["1.0", "1.10", "1.9", "Beta", "V2", "_private", "alpha", "latest", "v1"]


def _error_codes(response: Any) -> list[str]:
    return [e["code"] for e in response.json()["errors"]]


@pytest.fixture
def tagged(registry: Any) -> Any:
    image = make_image()
    assert registry.push_image("acme/app", image, tag=None).status_code == 201
    for tag in TAGS:
        assert registry.push_manifest("acme/app", tag, image.manifest, OCI_MANIFEST).status_code == 201
    return registry


def test_it_lists_tags_sorted_asciibetically(tagged: Any) -> None:
    response = tagged.client.get("/v2/acme/app/tags/list")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"name": "acme/app", "tags": ASCII_ORDER}
    assert "Link" not in response


def test_it_limits_the_list_to_n_tags_and_links_to_the_next_page(tagged: Any) -> None:
    response = tagged.client.get("/v2/acme/app/tags/list?n=3")
    assert response.status_code == 200
    assert response.json()["tags"] == ASCII_ORDER[:3]
    assert response["Link"] == '</v2/acme/app/tags/list?n=3&last=1.9>; rel="next"'


def test_it_lists_the_tags_after_last(tagged: Any) -> None:
    response = tagged.client.get("/v2/acme/app/tags/list?last=Beta")
    assert response.json()["tags"] == ASCII_ORDER[4:]
    assert "Link" not in response


def test_it_lists_the_tags_after_a_last_that_is_not_a_tag(tagged: Any) -> None:
    response = tagged.client.get("/v2/acme/app/tags/list?last=b")
    assert response.json()["tags"] == ["latest", "v1"]


def test_it_walks_every_page_by_following_the_link_header(tagged: Any) -> None:
    url: str | None = "/v2/acme/app/tags/list?n=2"
    seen: list[str] = []
    pages = 0
    while url:
        response = tagged.client.get(url)
        assert response.status_code == 200
        seen += response.json()["tags"]
        pages += 1
        link = response.get("Link")
        url = link[1 : link.index(">")] if link else None
    assert seen == ASCII_ORDER
    assert pages == 5


def test_it_gives_no_link_when_the_page_ends_exactly_at_the_last_tag(tagged: Any) -> None:
    response = tagged.client.get(f"/v2/acme/app/tags/list?n={len(TAGS)}")
    assert response.json()["tags"] == ASCII_ORDER
    assert "Link" not in response


def test_it_answers_n_zero_with_an_empty_list_and_no_link(tagged: Any) -> None:
    response = tagged.client.get("/v2/acme/app/tags/list?n=0")
    assert response.status_code == 200
    assert response.json() == {"name": "acme/app", "tags": []}
    assert "Link" not in response


@pytest.mark.parametrize("n", ["-1", "ten", "1.5"])
def test_it_refuses_a_bad_n_with_400(tagged: Any, n: str) -> None:
    response = tagged.client.get(f"/v2/acme/app/tags/list?n={n}")
    assert response.status_code == 400
    assert _error_codes(response) == ["PAGINATION_NUMBER_INVALID"]


def test_it_lists_no_tags_for_a_repository_with_only_untagged_manifests(registry: Any) -> None:
    registry.push_image("acme/app", make_image(), tag=None)
    response = registry.client.get("/v2/acme/app/tags/list")
    assert response.status_code == 200
    assert response.json() == {"name": "acme/app", "tags": []}


def test_it_answers_name_unknown_for_the_tags_of_an_unknown_repository(registry: Any) -> None:
    response = registry.client.get("/v2/acme/ghost/tags/list")
    assert response.status_code == 404
    assert _error_codes(response) == ["NAME_UNKNOWN"]


def test_it_drops_a_deleted_tag_from_the_list(tagged: Any) -> None:
    assert tagged.client.delete("/v2/acme/app/manifests/latest").status_code == 202
    assert "latest" not in tagged.client.get("/v2/acme/app/tags/list").json()["tags"]


@pytest.mark.parametrize(
    "n",
    ["9223372036854775807", "9223372036854775808", "1" + "0" * 5000, "1000000000"],
    ids=["int64-max", "int64-max+1", "5001-digits", "a-billion"],
)
def test_it_clamps_a_huge_n_to_the_page_size_and_links_to_the_rest(tagged: Any, settings: Any, n: str) -> None:
    settings.WHARF_TAGS_PAGE_SIZE = 4
    response = tagged.client.get(f"/v2/acme/app/tags/list?n={n}")
    assert response.status_code == 200
    assert response.json()["tags"] == ASCII_ORDER[:4]
    assert response["Link"] == '</v2/acme/app/tags/list?n=4&last=Beta>; rel="next"'


def test_it_pages_by_the_page_size_when_n_is_absent(tagged: Any, settings: Any) -> None:
    settings.WHARF_TAGS_PAGE_SIZE = 5
    response = tagged.client.get("/v2/acme/app/tags/list")
    assert response.json()["tags"] == ASCII_ORDER[:5]
    assert response["Link"] == '</v2/acme/app/tags/list?n=5&last=V2>; rel="next"'


def test_it_keeps_a_small_n_and_leading_zeros(tagged: Any) -> None:
    response = tagged.client.get("/v2/acme/app/tags/list?n=0002")
    assert response.json()["tags"] == ASCII_ORDER[:2]


@pytest.mark.parametrize("n", ["\uff11", "\u00b2", "\u0663", "1\uff10", " 1", "+1", "0x10"])
def test_it_accepts_only_ascii_digits_for_n(tagged: Any, n: str) -> None:
    response = tagged.client.get("/v2/acme/app/tags/list", {"n": n})
    assert response.status_code == 400
    assert _error_codes(response) == ["PAGINATION_NUMBER_INVALID"]
    assert response.json()["errors"][0]["detail"] == {"n": n}


def test_it_lists_the_tags_after_a_last_holding_a_nul_byte(tagged: Any) -> None:
    response = tagged.client.get("/v2/acme/app/tags/list", {"last": "alpha\x00x"})
    assert response.status_code == 200
    assert response.json()["tags"] == ["latest", "v1"]
