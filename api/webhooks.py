"""REST API of webhooks, shaped like GitHub's organization hooks: ``/api/orgs/{org}/hooks`` and
``/api/{scope}/packages/container/{name}/hooks``, each with ``/{id}``, ``/{id}/pings``,
``/{id}/deliveries`` and ``/{id}/deliveries/{delivery_id}/attempts`` (redeliver). Admins of the
organization or package only, with a token holding ``write:packages``; the secret is never returned.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.roles import require_person
from packages_app.admin_scope import Scope
from packages_app.events import EVENTS
from packages_app.models import Role
from webhooks import selectors, services
from webhooks.models import Delivery, Webhook

from . import serializers as s
from .openapi import extend_schema
from .views import WRITE, ApiView, _package


class HookWriteSerializer(serializers.Serializer[Any]):
    url = serializers.CharField(max_length=2000, required=False)
    secret = serializers.CharField(max_length=255, required=False, allow_blank=True)
    events = serializers.ListField(child=serializers.ChoiceField(choices=list(EVENTS)), required=False)
    active = serializers.BooleanField(required=False)


def hook_data(hook: Webhook) -> dict[str, Any]:
    return {
        "id": hook.id,
        "url": hook.url,
        "events": hook.events,
        "active": hook.active,
        "has_secret": bool(hook.secret),
        "scope": {"package": hook.package.name} if hook.package else {"namespace": hook.namespace},
        "created_at": hook.created_at,
    }


def delivery_data(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "guid": str(delivery.guid),
        "event": delivery.event,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "status_code": delivery.response_status,
        "duration_ms": delivery.response_ms,
        "response_excerpt": delivery.response_excerpt,
        "error": delivery.error,
        "redelivery_of": delivery.redelivery_of_id,
        "delivered_at": delivery.delivered_at,
        "created_at": delivery.created_at,
    }


def admin_scope(request: Request, kind: str, owner: str | None, package_name: str | None, what: str) -> Scope:
    """An organization (no ``package_name``) or a package the caller administers; 404 to outsiders."""
    if package_name is None:
        organization = account_selectors.organization_for_member(name=owner or "", user=request.user)
        if not account_services.is_owner(organization=organization, user=require_person(request.user)):
            raise exceptions.PermissionDenied(f"Only the organization's owners manage its {what}.")
        return Scope(title=organization.name, namespace=organization.name)
    package, role, _ = _package(request, kind, owner, package_name)
    if role < Role.ADMIN:
        raise exceptions.PermissionDenied(f"Only the package's admins manage its {what}.")
    return Scope(title=package.name, package=package)


class HookApiView(ApiView):
    def scope(self, request: Request, kwargs: dict[str, Any]) -> Scope:
        self.actor(request, WRITE)
        return admin_scope(request, kwargs["kind"], kwargs.get("owner"), kwargs.get("package_name"), "webhooks")

    def hook(self, request: Request, kwargs: dict[str, Any]) -> Webhook:
        scope = self.scope(request, kwargs)
        return selectors.hook_get(hook_id=int(kwargs["hook_id"]), namespace=scope.namespace, package=scope.package)


def _body(request: Request) -> dict[str, Any]:
    body = HookWriteSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    return dict(body.validated_data)


class HookList(HookApiView):
    @extend_schema(responses={200: None, **{k: s.MessageSerializer for k in (401, 403, 404)}})
    def get(self, request: Request, **kwargs: Any) -> Response:
        """The webhooks of an organization or a package."""
        scope = self.scope(request, kwargs)
        return Response([hook_data(h) for h in selectors.hooks_of(namespace=scope.namespace, package=scope.package)])

    @extend_schema(request=HookWriteSerializer, responses={201: None, 422: s.MessageSerializer})
    def post(self, request: Request, **kwargs: Any) -> Response:
        """Add a webhook (a ping is sent at once)."""
        scope = self.scope(request, kwargs)
        data = _body(request)
        if "url" not in data:
            raise exceptions.ValidationError("url is required.")
        hook = services.webhook_create(
            user=require_person(request.user),
            namespace=scope.namespace,
            package=scope.package,
            url=data["url"],
            secret=data.get("secret", ""),
            events_=data.get("events", ["package.published"]),
            active=data.get("active", True),
        )
        return Response(hook_data(hook), status=status.HTTP_201_CREATED)


class HookDetail(HookApiView):
    @extend_schema(responses={200: None})
    def get(self, request: Request, **kwargs: Any) -> Response:
        return Response(hook_data(self.hook(request, kwargs)))

    @extend_schema(request=HookWriteSerializer, responses={200: None, 422: s.MessageSerializer})
    def patch(self, request: Request, **kwargs: Any) -> Response:
        hook, data = self.hook(request, kwargs), _body(request)
        services.webhook_update(
            webhook=hook,
            user=require_person(request.user),
            url=data.get("url"),
            events_=data.get("events"),
            secret=data.get("secret"),
            active=data.get("active"),
        )
        return Response(hook_data(hook))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, **kwargs: Any) -> Response:
        services.webhook_delete(webhook=self.hook(request, kwargs), user=require_person(request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)


class HookPing(HookApiView):
    @extend_schema(request=None, responses={202: None})
    def post(self, request: Request, **kwargs: Any) -> Response:
        delivery = services.webhook_ping(webhook=self.hook(request, kwargs), user=require_person(request.user))
        return Response(delivery_data(delivery), status=status.HTTP_202_ACCEPTED)


class DeliveryList(HookApiView):
    @extend_schema(responses={200: None})
    def get(self, request: Request, **kwargs: Any) -> Response:
        """The hook's 50 latest deliveries, newest first."""
        return Response([delivery_data(d) for d in selectors.deliveries_of(hook=self.hook(request, kwargs))])


class DeliveryAttempt(HookApiView):
    @extend_schema(request=None, responses={202: None})
    def post(self, request: Request, **kwargs: Any) -> Response:
        """Redeliver: send a logged delivery's body again, as a new delivery."""
        hook = self.hook(request, kwargs)
        delivery = selectors.delivery_get(hook=hook, delivery_id=int(kwargs["delivery_id"]))
        again = services.delivery_redeliver(delivery=delivery, user=require_person(request.user))
        return Response(delivery_data(again), status=status.HTTP_202_ACCEPTED)
