"""``GET /v2/<name>/tags/list`` with ``n`` and ``last`` (end-8a, end-8b)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.response import Response

from packages_app import selectors
from packages_app.exceptions import PaginationInvalid
from packages_app.names import parse_count

from ..headers import next_link
from .common import RegistryView


def _page_size(value: str | None) -> int:
    """``n``, clamped to WHARF_TAGS_PAGE_SIZE: a larger request gets a full page and a ``Link`` to the
    next one, as the spec lets a registry do ("Listing Tags": fewer than ``n`` results is allowed)."""
    maximum = int(settings.WHARF_TAGS_PAGE_SIZE)
    if value is None or value == "":
        return maximum
    n = parse_count(value, maximum=maximum)
    if n is None:
        raise PaginationInvalid(detail={"n": value[:50]})
    return n


class TagsListView(RegistryView):
    def get(self, request: Any, name: str) -> Response:
        package = self.readable_package(request, name)
        n = _page_size(request.query_params.get("n"))
        tags, more = selectors.tags_page(package=package, n=n, last=request.query_params.get("last"))
        headers = {"Link": next_link(request.path, n, tags[-1])} if more else None
        return Response({"name": name, "tags": tags}, headers=headers)
