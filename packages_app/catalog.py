"""``GET /v2/_catalog`` (distribution-spec "Listing Repositories", the optional endpoint): the names
the caller may pull, ASCIIbetically, ``n`` at a time after ``last``.

Each name is checked by ``access.may_pull`` — the rule a pull of that name would meet — so the list
holds exactly what the caller can pull: anonymous callers see public packages, signed-in ones add what
their roles give them, a token without ``read:packages`` sees nothing (it can pull nothing), and a
registry bearer token only the repositories it grants ``pull``. A name the caller cannot pull is never returned, so it
can never become the ``last`` of a ``Link`` either. ``n`` is capped at ``WHARF_CATALOG_MAX_ENTRIES``.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.db import connection
from django.db.models import F, QuerySet
from django.db.models.functions import Collate

from .access import Actor, may_pull
from .models import Package
from .names import list_marker

CHUNK = 500


def _names_after(last: str | None) -> QuerySet[Package]:
    order = Collate(F("name"), "C") if connection.vendor == "postgresql" else F("name")
    queryset = Package.objects.annotate(sort_name=order)
    if last:
        queryset = queryset.filter(sort_name__gt=list_marker(last))
    return queryset.order_by("sort_name").only(
        "id", "name", "namespace", "visibility", "created_by", "repository_id", "inherit_access"
    )


def _pullable(actor: Actor, last: str | None) -> Iterator[str]:
    after = last
    while True:
        chunk = list(_names_after(after)[:CHUNK])
        for package in chunk:
            if may_pull(actor, package):
                yield package.name
        if len(chunk) < CHUNK:
            return
        after = chunk[-1].name


def page_size(n: int | None) -> int:
    cap = int(settings.WHARF_CATALOG_MAX_ENTRIES)
    return cap if n is None else min(n, cap)


def catalog_page(*, actor: Actor, n: int | None, last: str | None) -> tuple[list[str], bool, int]:
    """Up to ``n`` (capped) names after ``last``, whether more follow, and the page size used."""
    size = page_size(n)
    if size == 0:
        return [], False, 0
    names: list[str] = []
    for name in _pullable(actor, last):
        if len(names) == size:
            return names, True, size
        names.append(name)
    return names, False, size
