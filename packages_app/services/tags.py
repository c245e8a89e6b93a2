"""DELETE by tag. Tags are written only by ``packages_app.tagging`` (where tag rules are checked)."""

from __future__ import annotations

from .. import events, tagging
from ..access import ANONYMOUS, Actor
from ..audit import audit_record
from ..exceptions import ManifestUnknown
from ..models import AuditEvent, Manifest
from ..selectors import package_get
from .versions import _enqueue_metadata_refresh


def tag_delete(*, name: str, tag: str, actor: Actor | None = None) -> None:
    """DELETE by tag: only the tag; the manifest stays pullable by digest."""
    package = package_get(name=name)
    manifest = Manifest.objects.filter(package=package, tags__name=tag).first()
    who = actor or ANONYMOUS
    if manifest is None or not tagging.tag_remove(package=package, name=tag, user=who.user):
        raise ManifestUnknown(detail={"tag": tag[:200]})
    audit_record(package=package, user=who.user, actor=who.label, action=AuditEvent.Action.DELETE_TAG, detail=tag)
    _enqueue_metadata_refresh(package.id)
    data = events.version_data(manifest, _all_tags(manifest)) | {"previous": {tag: manifest.digest}}
    events.emit(events.TAG_UPDATED, package=package, actor=who.label, data=data)


def _all_tags(manifest: Manifest) -> list[str]:
    return list(manifest.tags.order_by("name").values_list("name", flat=True))
