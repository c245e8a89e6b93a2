"""Webhook bodies, in the shape of GitHub's ``registry_package`` event where it fits, and their signature.

``action`` is the part of the event name after the dot (``published``, ``tag_updated``, ``deleted``,
``restored``, ``visibility_changed``); ``event`` is the full name. A version-level event carries
``registry_package.package_version`` with the digest, media type, tags and — for an index — the
platforms it holds, so one event describes a whole multi-platform push.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from django.conf import settings

from accounts.models import Organization
from packages_app.models import Package

from .models import Webhook


def signature(secret: str, body: bytes) -> str:
    """``X-Wharf-Signature-256``: ``sha256=`` and the hex HMAC-SHA256 of the exact body with the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _site() -> str:
    return str(settings.WHARF_PUBLIC_URL).rstrip("/")


def _registry_host() -> str:
    return _site().split("://", 1)[-1]


def _version(package: Package, data: dict[str, Any]) -> dict[str, Any] | None:
    digest = data.get("digest")
    if not digest:
        return None
    tags = list(data.get("tags", []))
    ref = f"{_registry_host()}/{package.name}"
    return {
        "id": data.get("version_id"),
        "name": digest,
        "version": digest,
        "html_url": f"{_site()}/{package.name}/-/versions",
        "package_url": f"{ref}:{tags[0]}" if tags else f"{ref}@{digest}",
        "container_metadata": {
            "tag": {"name": tags[0] if tags else "", "digest": digest},
            "tags": tags,
            "manifest": {
                "digest": digest,
                "media_type": data.get("media_type", ""),
                "platforms": data.get("platforms", []),
            },
        },
        **({"previous": data["previous"]} if "previous" in data else {}),
    }


def package_event(event: str, package: Package, actor: str, data: dict[str, Any]) -> dict[str, Any]:
    """The body of ``event`` about ``package`` (a deleted package too: its rows stay until purged)."""
    owner_type = "Organization" if _is_organization(package.namespace) else "User"
    registry_package: dict[str, Any] = {
        "id": package.id,
        "name": package.path,
        "namespace": package.namespace,
        "full_name": package.name,
        "ecosystem": "CONTAINER",
        "package_type": "container",
        "visibility": package.visibility,
        "html_url": f"{_site()}/{package.name}",
        "owner": {"login": package.namespace, "type": owner_type},
        "registry": {"url": _site(), "host": _registry_host()},
    }
    if (version := _version(package, data)) is not None:
        registry_package["package_version"] = version
    if "visibility_from" in data:
        registry_package["changes"] = {"visibility": {"from": data["visibility_from"]}}
    return {
        "event": event,
        "action": event.split(".", 1)[1],
        "registry_package": registry_package,
        "sender": {"login": actor},
    }


def ping(webhook: Webhook) -> dict[str, Any]:
    return {
        "event": "ping",
        "zen": "Ships are safe in harbour, but that is not what ships are for.",
        "hook_id": webhook.id,
        "hook": {"id": webhook.id, "url": webhook.url, "events": webhook.events, "active": webhook.active},
    }


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def _is_organization(namespace: str) -> bool:
    return Organization.objects.filter(name=namespace).exists()
