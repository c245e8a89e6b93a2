"""Writes of the package settings page beyond visibility and access: the README and retention rules.
Only the package's admins make them (``access.package_role``); each change is one audit event.
The REST API calls the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction

from .access import require_package_admin
from .audit import audit_record
from .exceptions import InvalidInput
from .models import AuditEvent, Package, RetentionRule
from .readme import MAX_README_CHARS
from .retention import Planned, retention_preview

MAX_PROTECTED_CHARS = 2000


def package_set_readme(*, package: Package, user: User | None, readme: str) -> Package:
    """Set (or clear, with an empty text) the package's markdown README."""
    require_package_admin(package, user, "change its README")
    text = readme.replace("\r\n", "\n").strip()
    if len(text) > MAX_README_CHARS:
        raise InvalidInput(f"A README holds at most {MAX_README_CHARS:,} characters.", code="readme_too_long")
    package.readme = text
    package.save(update_fields=["readme", "updated_at"])
    audit_record(package=package, user=user, action=AuditEvent.Action.README, detail=f"{len(text)} characters")
    return package


@dataclass(frozen=True)
class RuleInput:
    """A retention rule as a form or the API gives it."""

    keep_newest: int | None
    untagged_older_than_days: int | None
    protected_tags: str
    enabled: bool


def _checked(data: RuleInput) -> RuleInput:
    for value in (data.keep_newest, data.untagged_older_than_days):
        if value is not None and not 0 < value <= 100_000:
            raise InvalidInput("Limits are whole numbers from 1 to 100,000.", code="limit")
    if data.keep_newest is None and data.untagged_older_than_days is None:
        raise InvalidInput("Set “keep the newest” or “untagged older than” (or both).", code="empty_rule")
    if len(data.protected_tags) > MAX_PROTECTED_CHARS:
        raise InvalidInput("Protected tags are too long.", code="protected")
    return data


def _describe(rule: RetentionRule) -> str:
    parts = []
    if rule.keep_newest is not None:
        parts.append(f"keep {rule.keep_newest} newest")
    if rule.untagged_older_than_days is not None:
        parts.append(f"untagged older than {rule.untagged_older_than_days} days")
    if rule.tag_patterns:
        parts.append(f"protect {', '.join(rule.tag_patterns)}")
    return "; ".join(parts) + ("" if rule.enabled else " (disabled)")


def retention_rule_save(
    *, package: Package, user: User | None, data: RuleInput, rule_id: int | None = None
) -> RetentionRule:
    """Create a retention rule, or change rule ``rule_id`` of this package."""
    require_package_admin(package, user, "change its retention rules")
    _checked(data)
    with transaction.atomic():
        rule = RetentionRule(package=package) if rule_id is None else _rule(package, rule_id)
        rule.keep_newest = data.keep_newest
        rule.untagged_older_than_days = data.untagged_older_than_days
        rule.protected_tags = data.protected_tags.strip()
        rule.enabled = data.enabled
        rule.save()
        verb = "added" if rule_id is None else "changed"
        audit_record(
            package=package, user=user, action=AuditEvent.Action.RETENTION, detail=f"{verb}: {_describe(rule)}"
        )
    return rule


def retention_rule_delete(*, package: Package, user: User | None, rule_id: int) -> None:
    require_package_admin(package, user, "change its retention rules")
    with transaction.atomic():
        rule = _rule(package, rule_id)
        detail = f"removed: {_describe(rule)}"
        rule.delete()
        audit_record(package=package, user=user, action=AuditEvent.Action.RETENTION, detail=detail)


def _rule(package: Package, rule_id: int) -> RetentionRule:
    rule = RetentionRule.objects.filter(package=package, id=rule_id).first()
    if rule is None:
        raise InvalidInput("There is no such retention rule.", code="unknown_rule")
    return rule


@dataclass(frozen=True)
class RuleView:
    """A rule on the settings page with what it would delete now (the preview garbage collection applies)."""

    rule: RetentionRule
    preview: list[Planned]


def retention_rules(*, package: Package) -> list[RuleView]:
    rules = RetentionRule.objects.filter(package=package).select_related("package").order_by("id")
    return [RuleView(rule, retention_preview(rule=rule)) for rule in rules]
