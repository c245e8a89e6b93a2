"""The one place that writes tags: pointing tags at a version, removing them, putting them back.

Every surface that changes a tag — a manifest PUT over ``/v2``, ``DELETE /v2/…/manifests/<tag>``,
deleting or restoring a version on the pages or in the REST API — comes through here, so a rule about
tags (``packages_app.tag_rules``: immutable and protected tags) is checked in one place for all of them.
Callers hold the transaction; these functions only write rows.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import User

from . import tag_rules
from .models import Manifest, Package, Tag


def tags_point(
    *, package: Package, manifest: Manifest, names: Iterable[str], user: User | None
) -> dict[str, str | None]:
    """Point each tag in ``names`` at ``manifest``. Returns the tags that changed, each with the digest
    it pointed at before (None: a new tag). Every tag is written, so its ``updated_at`` (garbage
    collection's grace period) is renewed even when it already pointed there."""
    wanted = list(dict.fromkeys(names))
    current = dict(Tag.objects.filter(package=package, name__in=wanted).values_list("name", "manifest_id"))
    digests = dict(Manifest.objects.filter(id__in=set(current.values())).values_list("id", "digest"))
    creating = [n for n in wanted if n not in current]
    moving = [n for n in wanted if n in current and current[n] != manifest.id]
    tag_rules.check(package=package, user=user, creating=creating, moving=moving)
    # One upsert for all of them (``updated_at`` is set anew on conflict too: auto_now).
    Tag.objects.bulk_create(
        [Tag(package=package, name=name, manifest=manifest) for name in wanted],
        update_conflicts=True,
        unique_fields=["package", "name"],
        update_fields=["manifest", "updated_at"],
    )
    return {
        name: digests.get(current[name]) if name in current else None
        for name in wanted
        if current.get(name) != manifest.id
    }


def tag_remove(*, package: Package, name: str, user: User | None) -> bool:
    """Remove one tag (the version stays). False when there was no such tag."""
    if Tag.objects.filter(package=package, name=name).exists():
        tag_rules.check(package=package, user=user, deleting=[name])
    deleted, _ = Tag.objects.filter(package=package, name=name).delete()
    return bool(deleted)


def tags_remove_from(*, package: Package, manifest_ids: list[int], user: User | None) -> list[str]:
    """Remove every tag of these versions (a version delete). Returns the first one's tag names."""
    doomed = list(Tag.objects.filter(manifest_id__in=manifest_ids).values_list("name", flat=True))
    tag_rules.check(package=package, user=user, deleting=doomed)
    names = list(Tag.objects.filter(manifest_id=manifest_ids[0]).order_by("name").values_list("name", flat=True))
    Tag.objects.filter(manifest_id__in=manifest_ids).delete()
    return names


def tags_restore(*, package: Package, manifest: Manifest, names: Iterable[str]) -> list[str]:
    """Put a restored version's tags back, except those pushed again since to another version. (A
    restore needs the package's admin, who may create protected tags; immutable ones may be created.)"""
    wanted = list(names)
    taken = set(Tag.objects.filter(package=package, name__in=wanted).values_list("name", flat=True))
    back = [t for t in wanted if t not in taken]
    Tag.objects.bulk_create([Tag(package=package, name=t, manifest=manifest) for t in back])
    return back
