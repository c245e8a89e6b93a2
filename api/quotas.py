"""Storage quotas in the REST API: ``GET /api/user/quota``, ``/api/users/{user}/quota`` and
``/api/orgs/{org}/quota`` (the namespace's usage and limit: the user themselves, an organization's
members, and site staff; anyone else gets the 404 of a missing owner), and ``PATCH`` of the same with
``{"limit_bytes": N}`` (``null``: back to ``WHARF_QUOTA_DEFAULT_BYTES``; 0: no limit), site staff only."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Membership
from packages_app import quotas

from . import serializers as s
from .views import ERRORS, NOT_FOUND, READ, WRITE, ApiView, _owner


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


def _may_read(request: Request, namespace: str, owner_type: str) -> bool:
    user = request.user
    if user.is_staff or user.get_username() == namespace:
        return True
    members = Membership.objects.filter(organization__name=namespace, user__username=user.get_username())
    return owner_type == "Organization" and members.exists()


class QuotaView(ApiView):
    def _namespace(self, request: Request, kind: str, owner: str | None, scope: str) -> str:
        self.actor(request, scope)
        namespace, owner_type = _owner(request, kind, owner)
        if not _may_read(request, namespace, owner_type):
            raise exceptions.NotFound(NOT_FOUND)
        return namespace

    @extend_schema(responses={200: QuotaSerializer, **ERRORS})
    def get(self, request: Request, kind: str, owner: str | None = None) -> Response:
        """The storage a user or an organization uses and its quota."""
        namespace = self._namespace(request, kind, owner, READ)
        return Response(quota_data(quotas.usage_of(namespace)))

    @extend_schema(request=QuotaWriteSerializer, responses={200: QuotaSerializer, 422: s.MessageSerializer, **ERRORS})
    def patch(self, request: Request, kind: str, owner: str | None = None) -> Response:
        """Set a namespace's own storage quota (site staff only)."""
        namespace = self._namespace(request, kind, owner, WRITE)
        if not request.user.is_staff:
            raise exceptions.PermissionDenied("Only the site's administrators can change storage quotas.")
        body = QuotaWriteSerializer(data=request.data)
        if not body.is_valid():
            return Response({"message": "limit_bytes must be a whole number of bytes, 0 or more, or null."}, 422)
        return Response(
            quota_data(quotas.quota_set(namespace=namespace, limit_bytes=body.validated_data["limit_bytes"]))
        )
