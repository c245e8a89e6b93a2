"""WSGI entry point (gunicorn serves this in `make run` and in production; see the README for why).

Registry requests -- every path under ``/v2/`` and ``/token`` -- go to a handler built from
``settings.REGISTRY_MIDDLEWARE``; everything else (the web pages, the admin, static files) to Django's
usual handler with the full ``settings.MIDDLEWARE``. Both resolve the same URLconf and send the same
request signals (database connections are opened, health-checked and closed the same way).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver
from django.utils.module_loading import import_string

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_site.settings")

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

REGISTRY_PREFIX = "/v2/"
TOKEN_PATH = "/token"  # noqa: S105 - a URL path, not a secret


class RegistryHandler(WSGIHandler):
    """Django's WSGI handler with the registry's short, synchronous middleware chain."""

    def load_middleware(self, is_async: bool = False) -> None:
        """``BaseHandler.load_middleware`` for ``settings.REGISTRY_MIDDLEWARE``, sync only: every
        entry there is a plain synchronous middleware, so no sync/async adaptation is needed."""
        if is_async:
            raise RuntimeError("the registry handler is WSGI only")
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        handler = convert_exception_to_response(self._get_response)  # type: ignore[attr-defined]  # not in the stubs
        for path in reversed(settings.REGISTRY_MIDDLEWARE):
            try:
                instance = import_string(path)(handler)
            except MiddlewareNotUsed:
                continue
            if hasattr(instance, "process_view"):
                self._view_middleware.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self._template_response_middleware.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self._exception_middleware.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        self._middleware_chain = handler


def is_registry_path(path: str) -> bool:
    return path.startswith(REGISTRY_PREFIX) or path == TOKEN_PATH


def _registry_path(path: str) -> str:
    """``//v2/…`` (a registry URL configured with a trailing slash) is ``/v2/…``: the registry answers
    it, never the pages' HTML 404."""
    collapsed = "/" + path.lstrip("/")
    return collapsed if collapsed != path and is_registry_path(collapsed) else path


def route_by_path(registry: WSGIApp, site: WSGIApp) -> WSGIApp:
    """One WSGI application: registry paths to ``registry``, the rest to ``site``."""

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = _registry_path(environ.get("PATH_INFO", ""))
        if is_registry_path(path):
            environ["PATH_INFO"] = path
            return registry(environ, start_response)
        return site(environ, start_response)

    return application


def load_what_requests_load() -> None:
    """Import the URLconf -- every view module -- and build its reverse map now, not at a worker's
    first request: with gunicorn's ``preload_app`` the master does it once and the workers share it."""
    get_resolver().reverse_dict  # noqa: B018 - the property imports the URLconf and fills the map


site_application = get_wsgi_application()  # sets Django up first
registry_application = RegistryHandler()
application = route_by_path(registry_application, site_application)
load_what_requests_load()
