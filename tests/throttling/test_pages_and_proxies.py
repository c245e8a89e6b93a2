"""The token-creation page's own limit (on by default: ``WHARF_RATE_LIMIT_TOKEN_CREATION`` attempts per
window, per user and per client address), and the client address behind trusted proxies
(``WHARF_TRUSTED_PROXIES``: only then is X-Forwarded-For read, its right-most untrusted address used)."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.account.adapter import get_adapter
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory

from throttling.addresses import client_address
from tokens_app.models import PersonalAccessToken

FORM = {"note": "ci", "scopes": ["read:packages"], "expiration": "30"}


def create(client: Client, **extra: Any) -> Any:
    return client.post("/settings/tokens/new", FORM, **extra)


def test_the_token_page_limits_creations_per_user(owner: Any, client: Client, settings: Any) -> None:
    settings.WHARF_RATE_LIMIT_TOKEN_CREATION = 3
    client.force_login(owner)
    answers = [create(client) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert 1 <= int(refused["Retry-After"]) <= settings.WHARF_RATE_LIMIT_WINDOW_SECONDS
    assert "Too many tokens created" in refused.content.decode()
    assert PersonalAccessToken.objects.filter(user=owner).count() == 3  # the refused one was not made
    assert client.get("/settings/tokens/new").status_code == 200  # showing the form is not counted


def test_the_token_page_limit_is_also_per_address(owner: Any, outsider: Any, settings: Any) -> None:
    settings.WHARF_RATE_LIMIT_TOKEN_CREATION = 2
    alice, eve = Client(), Client()
    alice.force_login(owner)
    eve.force_login(outsider)
    assert create(alice).status_code == 200
    assert create(eve).status_code == 200
    assert create(eve).status_code == 429  # the same address, another user
    elsewhere = create(eve, REMOTE_ADDR="192.0.2.9")
    assert elsewhere.status_code == 429  # eve's own budget is spent too
    assert PersonalAccessToken.objects.count() == 2


def test_the_token_page_limit_is_on_by_default(owner: Any, client: Client, settings: Any) -> None:
    assert settings.WHARF_RATE_LIMIT_TOKEN_CREATION == 10
    client.force_login(owner)
    assert [create(client).status_code for _ in range(11)] == [200] * 10 + [429]


def test_zero_turns_the_token_page_limit_off(owner: Any, client: Client, settings: Any) -> None:
    settings.WHARF_RATE_LIMIT_TOKEN_CREATION = 0
    client.force_login(owner)
    assert {create(client).status_code for _ in range(12)} == {200}


def _address(settings: Any, proxies: list[str], remote: str, forwarded: str | None) -> str:
    settings.WHARF_TRUSTED_PROXIES = proxies
    extra: dict[str, Any] = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/v2/", **extra))


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        ([], "10.0.0.5", "198.51.100.7", "10.0.0.5"),  # no trusted proxies: the header is ignored
        (["10.0.0.0/8"], "203.0.113.4", "198.51.100.7", "203.0.113.4"),  # not from a proxy: ignored
        (["10.0.0.0/8"], "10.0.0.5", "198.51.100.7", "198.51.100.7"),
        (["10.0.0.0/8"], "10.0.0.5", "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # the client's own claim is left of it
        (["10.0.0.0/8", "192.168.1.1/32"], "10.0.0.5", "6.6.6.6, 198.51.100.7, 192.168.1.1", "198.51.100.7"),
        (["10.0.0.0/8"], "10.0.0.5", "10.1.1.1, 10.2.2.2", "10.1.1.1"),  # every hop trusted: the left-most
        (["10.0.0.0/8"], "10.0.0.5", "198.51.100.7, not-an-ip", "10.0.0.5"),  # garbled: the proxy's own
        (["10.0.0.0/8"], "10.0.0.5", None, "10.0.0.5"),
        (["2001:db8::/32"], "2001:db8::1", "2001:DB8:FFFF::9, 2001:0db8::2", "2001:db8:ffff::9"),
    ],
)
def test_the_client_address_behind_trusted_proxies(
    settings: Any, proxies: list[str], remote: str, forwarded: str | None, expected: str
) -> None:
    assert _address(settings, proxies, remote, forwarded) == expected


@pytest.mark.django_db
def test_anonymous_registry_limits_count_the_forwarded_client(settings: Any, client: Client) -> None:
    settings.MIDDLEWARE = ["throttling.middleware.RateLimitMiddleware", *settings.MIDDLEWARE]
    settings.WHARF_RATE_LIMIT_ANONYMOUS = 2
    settings.WHARF_TRUSTED_PROXIES = ["10.0.0.0/8"]
    via_proxy: dict[str, Any] = {"REMOTE_ADDR": "10.0.0.5"}
    one = [client.get("/v2/", HTTP_X_FORWARDED_FOR="198.51.100.7", **via_proxy).status_code for _ in range(3)]
    assert one == [401, 401, 429]
    other = client.get("/v2/", HTTP_X_FORWARDED_FOR="198.51.100.8", **via_proxy)
    assert other.status_code == 401  # another client behind the same proxy has its own budget
    spoofed = client.get("/v2/", HTTP_X_FORWARDED_FOR="198.51.100.7", REMOTE_ADDR="203.0.113.4")
    assert spoofed.status_code == 401  # a client that is not a proxy cannot spend someone else's budget


@pytest.mark.django_db
def test_allauth_login_limits_count_the_forwarded_client(settings: Any) -> None:

    settings.WHARF_TRUSTED_PROXIES = ["10.0.0.0/8"]
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert get_adapter(request).get_client_ip(request) == "198.51.100.7"
    assert get_user_model().objects.count() == 0
