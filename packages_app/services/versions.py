"""Versions (a manifest with its tags): soft delete and restore within WHARF_DELETED_RETENTION_DAYS."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .. import events, tagging
from ..access import Actor
from ..audit import audit_record
from ..exceptions import InvalidInput
from ..models import AuditEvent, Manifest
from .blobs import _relink_blobs
from .packages import _authorize_delete, _check_deletable, _expired, _restorable


def _own_children(manifest: Manifest) -> list[int]:
    """Platform images of an index that no other live index of the package uses: they go with it."""
    children = Manifest.objects.filter(parents=manifest, deleted_at__isnull=True)
    others = Manifest.objects.filter(deleted_at__isnull=True).exclude(id=manifest.id)
    return [c.id for c in children if not others.filter(children=c).exists() and not c.tags.exists()]


def version_delete(*, manifest: Manifest, actor: Actor) -> Manifest:
    """Soft-delete a version: the manifest (and the platform images only it uses) stop being pullable at
    once; its tags are removed and remembered for a restore within WHARF_DELETED_RETENTION_DAYS. Whoever
    calls (pages, REST API, v2 DELETE), this decides whether ``actor`` may delete in the package."""
    package = manifest.package
    _authorize_delete(actor, package)
    _check_deletable(package, [manifest.id])
    now = timezone.now()
    with transaction.atomic():
        ids = [manifest.id, *_own_children(manifest)]
        tags = tagging.tags_remove_from(package=package, manifest_ids=ids, user=actor.user)
        Manifest.objects.filter(id=manifest.id).update(deleted_at=now, deleted_tags=tags)
        Manifest.objects.filter(id__in=ids[1:]).update(deleted_at=now, deleted_tags=[])
        audit_record(
            package=package,
            user=actor.user,
            actor=actor.label,
            action=AuditEvent.Action.DELETE_VERSION,
            detail=_pushed(manifest.digest, tags),
        )
        _enqueue_metadata_refresh(package.id)
        events.emit(
            events.VERSION_DELETED, package=package, actor=actor.label, data=events.version_data(manifest, tags)
        )
    manifest.refresh_from_db()
    return manifest


def version_restore(*, manifest: Manifest, actor: Actor) -> Manifest:
    """Bring back a version deleted within WHARF_DELETED_RETENTION_DAYS with its tags (a tag pushed again since, to
    another version, stays where it is) and the platform images deleted with it."""
    package = manifest.package
    _authorize_delete(actor, package)
    if manifest.deleted_at is None:
        raise InvalidInput("This version is not deleted.", code="not_deleted")
    if not _restorable(manifest.deleted_at):
        raise _expired("Versions")
    with transaction.atomic():
        # Conditional on the deletion checked above: a purge (gc.purge_deleted) that got there first wins.
        if not Manifest.objects.filter(id=manifest.id, deleted_at=manifest.deleted_at).update(
            deleted_at=None, deleted_tags=[]
        ):
            raise _expired("Versions")
        children = Manifest.objects.filter(package=package, deleted_at=manifest.deleted_at, parents=manifest)
        restored = [manifest.id, *children.values_list("id", flat=True)]
        Manifest.objects.filter(id__in=restored[1:]).update(deleted_at=None)
        _relink_blobs(package, restored)
        back = tagging.tags_restore(package=package, manifest=manifest, names=manifest.deleted_tags)
        audit_record(
            package=package,
            user=actor.user,
            actor=actor.label,
            action=AuditEvent.Action.RESTORE_VERSION,
            detail=_pushed(manifest.digest, manifest.deleted_tags),
        )
        _enqueue_metadata_refresh(package.id)
        events.emit(
            events.VERSION_RESTORED, package=package, actor=actor.label, data=events.version_data(manifest, back)
        )
    manifest.refresh_from_db()
    return manifest


def _pushed(digest: str, tags: list[str]) -> str:
    return f"{digest} ({', '.join(tags)})" if tags else digest


def _enqueue_metadata_refresh(package_id: int) -> None:
    """Deleting or restoring a version or a tag may change which version is the newest tagged one, whose
    description, licenses and source the package page shows: a worker refreshes them after the commit."""
    events.enqueue("packages_app.tasks.refresh_package_metadata", package_id)
