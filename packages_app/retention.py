"""Retention rules: which versions of a package a rule deletes (issue 6, "Retention rules").

A *version* is a manifest that is neither a platform image of another manifest of the package nor a
referrer of one (its subject is stored in the package). A rule deletes the versions beyond its
``keep_newest`` newest and the untagged versions older than ``untagged_older_than_days``; a version
with a tag matching a protected pattern of any rule of the package is never touched. What the kept
versions need stays: their platform images and the referrers (signatures, SBOMs) of anything kept,
and any tagged manifest. Nothing pushed or tagged within the grace period is touched.

Soft-deleted manifests are already deleted: they are not versions (they count for no "keep N newest")
and are never planned; ``gc.purge_deleted`` removes them when they can no longer be restored. Until
then what they need (their platform images, their referrers) stays, so a restore brings it all back.

The same plan is the preview (``retention_preview``) and what garbage collection applies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatchcase

from django.db.models import Max
from django.utils import timezone

from . import tag_rules
from .manifests import INDEX_TYPES
from .models import Manifest, Package, RetentionRule


@dataclass(frozen=True)
class Planned:
    """A manifest a plan deletes, with the tags it goes with and why."""

    id: int
    digest: str
    tags: tuple[str, ...]
    reason: str
    tagged_at: datetime | None = field(compare=False, default=None)


@dataclass
class _Graph:
    manifests: dict[int, Manifest]
    tags: dict[int, list[str]]
    children: dict[int, set[int]]
    by_digest: dict[str, int]
    deleted: set[int]

    def pushed_at(self, manifest: Manifest) -> datetime:
        tagged = getattr(manifest, "tagged_at", None)
        return max(manifest.created_at, tagged) if tagged else manifest.created_at

    def subject_of(self, manifest: Manifest) -> int | None:
        return self.by_digest.get(manifest.subject_digest) if manifest.subject_digest else None


def _graph(package: Package) -> _Graph:
    manifests: dict[int, Manifest] = {
        m.id: m for m in package.manifests.annotate(tagged_at=Max("tags__updated_at")).defer("content")
    }
    tags: dict[int, list[str]] = {}
    for manifest_id, name in package.tags.values_list("manifest_id", "name"):
        tags.setdefault(manifest_id, []).append(name)
    children: dict[int, set[int]] = {}
    links = Manifest.children.through.objects.filter(from_manifest__package=package)
    for parent, child in links.values_list("from_manifest_id", "to_manifest_id"):
        children.setdefault(parent, set()).add(child)
    deleted = {m.id for m in manifests.values() if m.deleted_at is not None}
    return _Graph(manifests, tags, children, {m.digest: m.id for m in manifests.values()}, deleted)


def _versions(graph: _Graph) -> list[Manifest]:
    """Live versions, newest first (by push or tag time)."""
    platform_images = set().union(*graph.children.values()) if graph.children else set()
    versions = [
        m
        for m in graph.manifests.values()
        if m.id not in platform_images and graph.subject_of(m) is None and m.id not in graph.deleted
    ]
    return sorted(versions, key=lambda m: (graph.pushed_at(m), m.id), reverse=True)


def _protected(graph: _Graph, manifest: Manifest, patterns: Sequence[str]) -> bool:
    return any(fnmatchcase(tag, p) for tag in graph.tags.get(manifest.id, []) for p in patterns)


def _doomed_versions(
    graph: _Graph, rules: Iterable[RetentionRule], patterns: Sequence[str], now: datetime
) -> dict[int, str]:
    """Version id → the reason a rule deletes it."""
    versions = _versions(graph)
    doomed: dict[int, str] = {}
    for rule in rules:
        if rule.keep_newest is not None:
            for manifest in versions[rule.keep_newest :]:
                doomed.setdefault(manifest.id, f"beyond the {rule.keep_newest} newest versions")
        if rule.untagged_older_than_days is not None:
            limit = now - timedelta(days=rule.untagged_older_than_days)
            for manifest in versions:
                if manifest.id not in graph.tags and graph.pushed_at(manifest) < limit:
                    doomed.setdefault(manifest.id, f"untagged for over {rule.untagged_older_than_days} days")
    return {i: why for i, why in doomed.items() if not _protected(graph, graph.manifests[i], patterns)}


def _kept(graph: _Graph, doomed: dict[int, str]) -> set[int]:
    """Everything a kept version or tag needs: the closure over platform images and referrers. Deleted
    manifests are kept here (they are not this plan's to delete), and with them what they need."""
    kept = {i for i in graph.manifests if i not in doomed and (i in graph.tags or _is_root(graph, i))}
    kept |= graph.deleted
    pending = list(kept)
    referrers: dict[int, list[int]] = {}
    for manifest in graph.manifests.values():
        subject = graph.subject_of(manifest)
        if subject is not None:
            referrers.setdefault(subject, []).append(manifest.id)
    while pending:
        current = pending.pop()
        for needed in graph.children.get(current, set()) | set(referrers.get(current, [])):
            if needed not in kept:
                kept.add(needed)
                pending.append(needed)
    return kept


def _is_root(graph: _Graph, manifest_id: int) -> bool:
    platform_images = set().union(*graph.children.values()) if graph.children else set()
    return manifest_id not in platform_images and graph.subject_of(graph.manifests[manifest_id]) is None


def retention_plan(
    *,
    package: Package,
    rules: Iterable[RetentionRule] | None = None,
    now: datetime | None = None,
    grace_seconds: int = 0,
) -> list[Planned]:
    """What ``rules`` (default: the package's enabled rules) would delete now: indexes before their
    platform images. No rules: nothing (untagged manifests are kept, as on ghcr.io)."""
    rules = list(package.retention_rules.filter(enabled=True) if rules is None else rules)
    if not rules:
        return []
    now = now or timezone.now()
    graph = _graph(package)
    # The retention rules' own protected globs, and every immutable or protected tag rule's pattern.
    patterns = [p for rule in rules for p in rule.tag_patterns] + tag_rules.protected_patterns(package)
    doomed = _doomed_versions(graph, rules, patterns, now)
    kept = _kept(graph, doomed)
    cutoff = now - timedelta(seconds=grace_seconds)
    planned = [
        Planned(
            m.id,
            m.digest,
            tuple(sorted(graph.tags.get(m.id, []))),
            doomed.get(m.id, "needed by no kept version"),
            getattr(m, "tagged_at", None),
        )
        for m in graph.manifests.values()
        if m.id not in kept and graph.pushed_at(m) < cutoff
    ]
    return sorted(planned, key=lambda p: (graph.manifests[p.id].media_type not in INDEX_TYPES, p.id))


def retention_preview(*, rule: RetentionRule) -> list[Planned]:
    """What this one rule (saved or not) would delete from its package right now."""
    return retention_plan(package=rule.package, rules=[rule])
