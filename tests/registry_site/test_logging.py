"""Django's request log keeps to one line per request at most: a 401 challenge (the first step of every
docker or skopeo session) is not logged, a refusal is one line without a traceback — or none when the
access log has its line — and a server error keeps its traceback."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from registry_site.logging import OneLineRefusals


@pytest.fixture
def captured() -> Iterator[Any]:
    def attach(access_log: bool) -> io.StringIO:
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.addFilter(OneLineRefusals(access_log=access_log))
        logging.getLogger("django.request").addHandler(handler)
        handlers.append(handler)
        return stream

    handlers: list[logging.Handler] = []
    yield attach
    for handler in handlers:
        logging.getLogger("django.request").removeHandler(handler)


def _record(status: int, exc: BaseException | None = None) -> logging.LogRecord:
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "x", (), None)
    record.status_code = status
    if exc is not None:
        record.exc_info = (type(exc), exc, None)
    return record


def test_a_401_challenge_is_not_logged(db: None, captured: Any) -> None:
    stream = captured(access_log=False)
    assert Client().get("/v2/").status_code == 401
    assert stream.getvalue() == ""


def test_a_refusal_is_one_line_without_the_access_log_and_none_with_it(owner: Any, member: Any, captured: Any) -> None:
    without, with_access_log = captured(access_log=False), captured(access_log=True)
    client = Client()
    client.force_login(member)
    assert client.get("/orgs/acme/audit").status_code == 403
    assert without.getvalue().splitlines() == ["Forbidden (Permission denied): /orgs/acme/audit"]
    assert with_access_log.getvalue() == ""


def test_a_server_error_keeps_its_traceback() -> None:
    record = _record(500, RuntimeError("boom"))
    assert OneLineRefusals(access_log=True).filter(record) is True
    assert record.exc_info is not None


def test_the_settings_follow_wharf_access_log(settings: Any) -> None:
    options = settings.LOGGING["filters"]["one_line_refusals"]
    assert options == {"()": "registry_site.logging.OneLineRefusals", "access_log": settings.WHARF_ACCESS_LOG}
