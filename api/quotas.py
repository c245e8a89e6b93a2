"""Storage quotas in the REST API: ``GET /api/user/quota``, ``/api/users/{user}/quota`` and
``/api/orgs/{org}/quota`` (the namespace's usage and limit: the user themselves, an organization's
members, and site staff; anyone else gets the 404 of a missing owner), and ``PATCH`` of the same with
``{"limit_bytes": N}`` (``null``: back to ``WHARF_QUOTA_DEFAULT_BYTES``; 0: no limit), site staff only."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.roles import require_person
from packages_app import quotas

from . import serializers as s
from .openapi import extend_schema
from .views import ERRORS, READ, WRITE, ApiView, _owner


class QuotaSerializer(serializers.Serializer[Any]):
    namespace = serializers.CharField()
    used_bytes = serializers.IntegerField(help_text="Bytes of the distinct blobs the namespace's packages hold.")
    limit_bytes = serializers.IntegerField(allow_null=True, help_text="null: no limit.")
    available_bytes = serializers.IntegerField(allow_null=True)
    limit_source = serializers.ChoiceField(choices=["default", "namespace"])


class QuotaWriteSerializer(serializers.Serializer[Any]):
    limit_bytes = serializers.IntegerField(allow_null=True, min_value=0)


def quota_data(usage: quotas.Usage) -> dict[str, Any]:
    return {
        "namespace": usage.namespace,
        "used_bytes": usage.used_bytes,
        "limit_bytes": usage.limit_bytes or None,
        "available_bytes": usage.available_bytes,
        "limit_source": usage.source,
    }


class QuotaView(ApiView):
    @extend_schema(responses={200: QuotaSerializer, **ERRORS})
    def get(self, request: Request, kind: str, owner: str | None = None) -> Response:
        """The storage a user or an organization uses and its quota."""
        self.actor(request, READ)
        namespace, _ = _owner(request, kind, owner)
        return Response(quota_data(quotas.usage_for(namespace=namespace, user=require_person(request.user))))

    @extend_schema(request=QuotaWriteSerializer, responses={200: QuotaSerializer, 422: s.MessageSerializer, **ERRORS})
    def patch(self, request: Request, kind: str, owner: str | None = None) -> Response:
        """Set a namespace's own storage quota (site staff only)."""
        self.actor(request, WRITE)
        namespace, _ = _owner(request, kind, owner)
        quotas.require_quota_admin(namespace=namespace, user=require_person(request.user))
        body = QuotaWriteSerializer(data=request.data)
        if not body.is_valid():
            return Response({"message": "limit_bytes must be a whole number of bytes, 0 or more, or null."}, 422)
        return Response(
            quota_data(quotas.quota_set(namespace=namespace, limit_bytes=body.validated_data["limit_bytes"]))
        )
