"""drf-spectacular hooks: the schema describes the REST API only (not ``/token`` or ``/v2/``)."""

from __future__ import annotations

from typing import Any


def only_the_rest_api(endpoints: list[tuple[str, str, str, Any]], **kwargs: Any) -> list[tuple[str, str, str, Any]]:
    return [e for e in endpoints if e[0].startswith("/api/") and not e[0].startswith(("/api/schema", "/api/docs"))]
