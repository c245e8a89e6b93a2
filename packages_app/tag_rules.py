"""Immutable and protected tags (Harbor's immutability, GitLab's protected tags), per package or per
namespace (an organization's rules cover all its packages).

Patterns are globs (``fnmatch.fnmatchcase``: ``*``, ``?``, ``[…]``; case-sensitive; the whole tag must
match): ``v*``, ``release-[0-9]*``, ``latest``. ``check`` is called by ``packages_app.tagging`` — the one
place that writes tags — so a push over ``/v2``, ``DELETE /v2/…/manifests/<tag>``, and deleting a
version on the pages or in the REST API all meet the same rules, refused with ``TagRuleDenied``
(``DENIED``) naming the rule:

* **immutable**: a matching tag, once it exists, never moves to another version and is never
  deleted (nor is a version carrying it); creating it, and pushing the same digest again, are fine;
* **protected**: only the package's admins — and the members of the rule's team, when it names one —
  may create, move or delete a matching tag.

Retention (``packages_app.retention``) never deletes a version with a tag either kind matches.
Rule changes are written to the audit log.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Q, QuerySet

from accounts.models import Team
from accounts.roles import namespace_role

from . import sql as statements
from .access import package_role
from .exceptions import InvalidInput, PermissionRefused, TagInvalid, TagRuleDenied
from .models import AuditEvent, Package, Role, TagRule
from .names import parse_tag


def rules_for(package: Package) -> QuerySet[TagRule]:
    """The package's own rules and its namespace's."""
    own = Q(package=package) | Q(namespace=package.namespace, package__isnull=True)
    return TagRule.objects.filter(own).select_related("team", "package").order_by("id")


def protected_patterns(package: Package) -> list[str]:
    """Every pattern of either kind: retention keeps what they match."""
    return list(rules_for(package).values_list("pattern", flat=True))


def describe(rule: TagRule) -> str:
    scope = rule.package.name if rule.package is not None else f"organization {rule.namespace}"
    return f"{rule.kind} tag rule “{rule.pattern}” of {scope}"


def _may_touch_protected(rule: TagRule, package: Package, user: User | None) -> bool:
    if user is None:
        return False
    if package_role(user, package) == Role.ADMIN:
        return True
    return rule.team is not None and rule.team.members.filter(pk=user.pk).exists()


def _refusal(rule: TagRule, tag: str, what: str) -> TagRuleDenied:
    if rule.kind == TagRule.Kind.IMMUTABLE:
        return TagRuleDenied(f"tag {tag} is immutable ({describe(rule)}): it cannot be {what}")
    who = f"admins and team {rule.team.slug}" if rule.team is not None else "admins"
    return TagRuleDenied(f"tag {tag} is protected ({describe(rule)}): only {who} may push or delete it")


def check(
    *,
    package: Package,
    user: User | None,
    creating: Iterable[str] = (),
    moving: Iterable[str] = (),
    deleting: Iterable[str] = (),
) -> None:
    """Raise TagRuleDenied when a rule refuses creating, moving or deleting these tags."""
    changes = [(t, "created") for t in creating] + [(t, "moved") for t in moving] + [(t, "deleted") for t in deleting]
    if not changes:
        return
    with connection.cursor() as cursor:  # patterns first: most pushes match no rule, and load none
        cursor.execute(statements.TAG_RULE_PATTERNS, [package.id, package.namespace])
        matching = [
            rule_id for rule_id, pattern in cursor.fetchall() if any(fnmatchcase(t, pattern) for t, _ in changes)
        ]
    if not matching:
        return
    for rule in rules_for(package).filter(id__in=matching):
        for tag, what in changes:
            if not fnmatchcase(tag, rule.pattern):
                continue
            if rule.kind == TagRule.Kind.IMMUTABLE and what != "created":
                raise _refusal(rule, tag, what)
            if rule.kind == TagRule.Kind.PROTECTED and not _may_touch_protected(rule, package, user):
                raise _refusal(rule, tag, what)


# --- managing rules (admins) -----------------------------------------------------------------------


def _require_admin(user: User | None, namespace: str, package: Package | None) -> User:
    role = None if user is None else (package_role(user, package) if package else namespace_role(user, namespace))
    if user is None or role != Role.ADMIN:
        raise PermissionRefused("Only admins can change tag rules.")
    return user


def _clean_pattern(pattern: str) -> str:
    pattern = pattern.strip()
    literal = pattern.replace("*", "a").replace("?", "a").replace("[", "").replace("]", "").replace("!", "")
    try:
        parse_tag(literal or "x")
    except TagInvalid:
        raise InvalidInput(
            "Use a glob of tag characters (letters, digits, _ . -) with * ? [ ], e.g. v* or release-[0-9]*.",
            code="pattern",
        ) from None
    return pattern


def _audit(rule: TagRule, user: User, detail: str) -> None:
    package = rule.package
    AuditEvent.objects.create(
        package=package,
        namespace=package.namespace if package else rule.namespace,
        package_name=package.name if package else "",
        user=user,
        actor=user.username[:255],
        action=AuditEvent.Action.TAG_RULE,
        detail=detail[:1000],
    )


def _team(namespace: str, slug: str) -> Team | None:
    if not slug:
        return None
    team = Team.objects.filter(organization__name=namespace, slug=slug).first()
    if team is None:
        raise InvalidInput(f"{namespace} has no team “{slug}”.", code="unknown_team")
    return team


def tag_rule_create(
    *, user: User | None, pattern: str, kind: str, namespace: str = "", package: Package | None = None, team: str = ""
) -> TagRule:
    """A rule of ``namespace`` (all its packages) or of ``package``. Admins only; audited."""
    admin = _require_admin(user, namespace, package)
    if kind not in TagRule.Kind.values:
        raise InvalidInput("Choose immutable or protected.", code="kind")
    if team and kind != TagRule.Kind.PROTECTED:
        raise InvalidInput("Only a protected rule names a team.", code="team")
    owner = package.namespace if package is not None else namespace
    rule = TagRule.objects.create(
        namespace="" if package is not None else namespace,
        package=package,
        pattern=_clean_pattern(pattern),
        kind=kind,
        team=_team(owner, team),
        created_by=admin,
    )
    _audit(rule, admin, f"added {describe(rule)}" + (f" (team {team})" if team else ""))
    return rule


def tag_rule_delete(*, user: User | None, rule: TagRule) -> None:
    admin = _require_admin(user, rule.namespace, rule.package)
    _audit(rule, admin, f"removed {describe(rule)}")
    rule.delete()


def tag_rules_of(*, namespace: str = "", package: Package | None = None) -> QuerySet[TagRule]:
    if package is not None:
        return TagRule.objects.filter(package=package).select_related("team").order_by("id")
    return TagRule.objects.filter(namespace=namespace, package__isnull=True).select_related("team").order_by("id")
