"""``GET /v2/_catalog`` with ``n`` and ``last`` (distribution-spec "Listing Repositories")."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.conf import settings
from rest_framework.response import Response

from packages_app.catalog import catalog_page
from packages_app.exceptions import PaginationInvalid
from packages_app.names import parse_count

from .. import auth
from ..headers import next_link
from .common import RegistryView


def _n(value: str | None) -> int | None:
    """``n`` in ASCII digits; any larger than the cap is the cap (``catalog.page_size``)."""
    if value is None or value == "":
        return None
    n = parse_count(value, maximum=int(settings.WHARF_CATALOG_MAX_ENTRIES))
    if n is None:
        raise PaginationInvalid(detail={"n": value[:50]})
    return n


class CatalogView(RegistryView):
    def get(self, request: Any) -> Response:
        # A registry bearer token vouches for its user and their token's scopes; its per-repository
        # grants are for one push or pull, so the catalog asks what the user (or repository) may pull.
        actor = dataclasses.replace(auth.actor_for(request), grants=None)
        n, last = _n(request.query_params.get("n")), request.query_params.get("last") or None
        names, more, size = catalog_page(actor=actor, n=n, last=last)
        headers = {"Link": next_link(request.path, size, names[-1])} if more else None
        return Response({"repositories": names}, headers=headers)
