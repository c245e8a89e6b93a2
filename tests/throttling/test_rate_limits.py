"""Rate limits on /v2 and /token: 429 TOOMANYREQUESTS with Retry-After and the OCI body, per token,
per client address and per user; counters in this process or in Redis."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.core.cache import cache
from django.test import Client

from tests.conftest import basic, make_pat
from throttling import limiter

REDIS = os.environ.get("WHARF_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def limits(settings: Any) -> Iterator[Any]:
    settings.MIDDLEWARE = ["throttling.middleware.RateLimitMiddleware", *settings.MIDDLEWARE]
    settings.WHARF_RATE_LIMIT_TOKEN, settings.WHARF_RATE_LIMIT_ANONYMOUS = 5, 3
    settings.WHARF_RATE_LIMIT_REDIS_URL = ""
    limiter.backend.cache_clear()
    yield settings
    limiter.backend.cache_clear()


def assert_too_many(answer: Any) -> None:
    assert answer.status_code == 429
    assert 1 <= int(answer["Retry-After"]) <= 60
    [error] = answer.json()["errors"]
    assert error["code"] == "TOOMANYREQUESTS"
    assert error["detail"]["retry_after"] == int(answer["Retry-After"])


def test_a_token_flooding_past_its_limit_gets_429_and_another_token_does_not(
    limits: Any, owner: Any, client: Client
) -> None:
    mine, other = basic("alice", make_pat(owner)), basic("alice", make_pat(owner))
    assert [client.get("/v2/", HTTP_AUTHORIZATION=mine).status_code for _ in range(5)] == [200] * 5
    assert_too_many(client.get("/v2/", HTTP_AUTHORIZATION=mine))
    assert_too_many(client.get("/v2/acme/app/tags/list", HTTP_AUTHORIZATION=mine))
    assert client.get("/v2/", HTTP_AUTHORIZATION=other).status_code == 200


def test_anonymous_callers_are_limited_per_address_and_token_requests_too(limits: Any, db: None) -> None:
    here, there = Client(REMOTE_ADDR="192.0.2.1"), Client(REMOTE_ADDR="192.0.2.2")
    assert [here.get("/token?service=x").status_code for _ in range(3)] == [200] * 3
    assert_too_many(here.get("/token?service=x"))
    assert [here.get("/v2/").status_code for _ in range(3)] == [401] * 3  # /v2 and /token: two budgets
    assert_too_many(here.get("/v2/"))
    assert there.get("/v2/").status_code == 401


def test_a_user_has_one_budget_across_tokens(limits: Any, owner: Any, client: Client) -> None:
    limits.WHARF_RATE_LIMIT_USER = 4
    tokens = [basic("alice", make_pat(owner)) for _ in range(2)]
    assert [client.get("/v2/", HTTP_AUTHORIZATION=tokens[i % 2]).status_code for i in range(4)] == [200] * 4
    answer = client.get("/v2/", HTTP_AUTHORIZATION=tokens[0])
    assert_too_many(answer)
    assert answer.json()["errors"][0]["message"] == "too many requests for this user; retry later"


def test_pages_are_not_limited_by_the_registry_limits(limits: Any, db: None) -> None:
    here = Client(REMOTE_ADDR="192.0.2.9")
    assert {here.get("/").status_code for _ in range(6)} == {200}


def test_redis_counters_are_shared_by_every_backend_and_expire(settings: Any) -> None:
    try:
        redis.Redis.from_url(REDIS, socket_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"Redis does not answer at {REDIS}")
    settings.WHARF_RATE_LIMIT_REDIS_URL, settings.WHARF_RATE_LIMIT_WINDOW_SECONDS = REDIS, 60
    key = f"test:{uuid.uuid4().hex}"
    one, two = limiter._Redis(REDIS), limiter._Redis(REDIS)  # as two processes would hold them
    counts = [backend.incr(key, 60, 1000.0) for backend in (one, two, one, two)]
    assert counts == [1, 2, 3, 4]
    ttl = one.client.ttl(f"wharf:rl:{key}:16")
    assert 0 < ttl <= 61


def test_the_login_page_stops_password_guessing(owner: Any, client: Client) -> None:
    """allauth's own limits (ACCOUNT_RATE_LIMITS: five failed logins per account in five minutes)."""
    cache.clear()
    wrong = {"login": "alice", "password": "not the password"}
    refused = "Too many failed login attempts"
    answers = [client.post("/accounts/login/", wrong) for _ in range(6)]
    assert [refused in a.content.decode() for a in answers] == [False] * 5 + [True]
    right = client.post("/accounts/login/", {"login": "alice", "password": "correct horse battery"})
    assert right.status_code == 200
    assert refused in right.content.decode()  # not signed in, even so
    cache.clear()
