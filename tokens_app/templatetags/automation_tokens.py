"""``{% active_automation_tokens repository as tokens %}``: the repository page's automation-token
section asks for them by name, so the repositories app (below this one) never imports tokens."""

from __future__ import annotations

from django import template

from repositories.models import SourceRepository

from ..automation import automation_tokens_of
from ..models import AutomationToken

register = template.Library()


@register.simple_tag
def active_automation_tokens(repository: SourceRepository) -> list[AutomationToken]:
    return automation_tokens_of(repository=repository, active_only=True)
