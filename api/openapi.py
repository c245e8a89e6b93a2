"""The REST API views' OpenAPI annotations, applied only when a schema is generated.

drf-spectacular's ``extend_schema`` subclasses the schema class (``drf_spectacular.openapi``) as it
decorates, and loading that class loads ``rest_framework.test``, ``django.test`` and Jinja2: about
5 MiB in every gunicorn worker, for the one page (``/api/schema``) that uses them. This
``extend_schema`` takes the same arguments and only records them; ``api.schema.Generator`` hands
them to drf-spectacular's before it generates the first schema. It decorates view methods only
(drf-spectacular's changes those in place, so applying it later is the same as applying it now).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

View = TypeVar("View", bound=Callable[..., Any])
Apply = Callable[[Callable[..., Any], dict[str, Any]], None]

_pending: list[tuple[Callable[..., Any], dict[str, Any]]] = []
_lock = threading.Lock()


def extend_schema(**kwargs: Any) -> Callable[[View], View]:
    """``drf_spectacular.utils.extend_schema`` of a view method, deferred (see above)."""

    def record(method: View) -> View:
        if isinstance(method, type):
            raise TypeError("api.openapi.extend_schema decorates view methods, not classes")
        with _lock:
            _pending.append((method, kwargs))
        return method

    return record


def apply_pending(apply: Apply) -> None:
    """Hand every recorded annotation to ``apply`` (once each, in the order the methods were decorated)."""
    with _lock:
        for method, kwargs in _pending:
            apply(method, kwargs)
        _pending.clear()
