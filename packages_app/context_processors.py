"""Template context every page can use."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .models import deleted_retention_days


def wharf(request: HttpRequest) -> dict[str, Any]:
    """Settings the pages quote to people (how long deleted packages can be restored)."""
    days = deleted_retention_days()
    return {"deleted_retention_days": days, "deleted_retention_days_text": str(days)}
