"""Template filters of the web pages."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from packages_app import quotas

register = template.Library()


@register.filter
def human_bytes(size: int) -> str:
    """``1.5 GiB``: the units of the storage quota's messages (``packages_app.quotas``)."""
    return quotas.human_bytes(int(size))


@register.simple_tag
def namespace_usage(namespace: str) -> quotas.Usage:
    """``{% namespace_usage name as storage %}``: the namespace's storage usage and quota, for an owner's
    page in another app (an organization's page) to show without importing this one."""
    return quotas.usage_of(namespace)


@register.filter
def ago(moment: datetime | None) -> str:
    """ "just now", or "3 days ago" (the largest unit only, as GitHub shows it)."""
    if moment is None:
        return ""
    if timezone.now() - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment, depth=1)} ago"


@register.filter
def sentence(label: str) -> str:
    """A form label in sentence case, as the site writes them ("Remember Me" → "Remember me")."""
    text = str(label)
    return text[:1].upper() + text[1:].lower() if text else text


@register.inclusion_tag("_ui/confirm.html", takes_context=True)
def confirm(
    context: template.Context, label: str, action: str, question: str, button: str, small: bool = False, **fields: Any
) -> dict[str, Any]:
    """A destructive action behind a confirm step (ui.confirm): ``fields`` become hidden inputs."""
    return {
        "label": label,
        "action": action,
        "question": question,
        "button": button,
        "small": small,
        "fields": [(name, value) for name, value in fields.items()],
        "csrf_token": context.get("csrf_token"),
    }
