"""Template context every page can use."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest

from .models import deleted_retention_days


def wharf(request: HttpRequest) -> dict[str, Any]:
    """Settings the pages quote to people: how long deleted packages can be restored, and the registry's
    host for ``docker login``/``pull`` commands (from WHARF_PUBLIC_URL, never the request's Host header)."""
    days = deleted_retention_days()
    host = urlsplit(settings.WHARF_PUBLIC_URL).netloc
    return {"deleted_retention_days": days, "deleted_retention_days_text": str(days), "host": host}
