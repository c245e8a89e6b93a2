"""REST API of tag rules: ``/api/orgs/{org}/tag-rules`` and ``/api/{scope}/packages/container/{name}/tag-rules``
(GET lists, POST adds ``{"pattern", "kind": "immutable"|"protected", "team"?}``), ``…/tag-rules/{id}``
(DELETE). Admins only, with a token holding ``write:packages``; changes go to the audit log."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.roles import require_person
from packages_app import tag_rules
from packages_app.admin_scope import Scope
from packages_app.models import TagRule

from . import serializers as s
from .errors import NOT_FOUND
from .openapi import extend_schema
from .views import WRITE, ApiView
from .webhooks import admin_scope


class TagRuleWriteSerializer(serializers.Serializer[Any]):
    pattern = serializers.CharField(max_length=128)
    kind = serializers.ChoiceField(choices=TagRule.Kind.values)
    team = serializers.CharField(max_length=100, required=False, allow_blank=True)


def rule_data(rule: TagRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "pattern": rule.pattern,
        "pattern_syntax": "glob",
        "kind": rule.kind,
        "team": rule.team.slug if rule.team else None,
        "scope": {"package": rule.package.name} if rule.package else {"namespace": rule.namespace},
        "created_at": rule.created_at,
    }


class TagRuleApiView(ApiView):
    def scope(self, request: Request, kwargs: dict[str, Any]) -> Scope:
        self.actor(request, WRITE)
        return admin_scope(request, kwargs["kind"], kwargs.get("owner"), kwargs.get("package_name"), "tag rules")


class TagRuleList(TagRuleApiView):
    @extend_schema(responses={200: None, **{k: s.MessageSerializer for k in (401, 403, 404)}})
    def get(self, request: Request, **kwargs: Any) -> Response:
        """The tag rules of an organization or a package (a package also meets its organization's)."""
        scope = self.scope(request, kwargs)
        return Response(
            [rule_data(r) for r in tag_rules.tag_rules_of(namespace=scope.namespace, package=scope.package)]
        )

    @extend_schema(request=TagRuleWriteSerializer, responses={201: None, 422: s.MessageSerializer})
    def post(self, request: Request, **kwargs: Any) -> Response:
        """Add an immutable or protected tag rule (a glob pattern)."""
        scope = self.scope(request, kwargs)
        body = TagRuleWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rule = tag_rules.tag_rule_create(
            user=require_person(request.user), namespace=scope.namespace, package=scope.package, **body.validated_data
        )
        return Response(rule_data(rule), status=status.HTTP_201_CREATED)


class TagRuleDetail(TagRuleApiView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, rule_id: str, **kwargs: Any) -> Response:
        scope = self.scope(request, kwargs)
        rule = tag_rules.tag_rules_of(namespace=scope.namespace, package=scope.package).filter(id=int(rule_id)).first()
        if rule is None:
            raise exceptions.NotFound(NOT_FOUND)
        tag_rules.tag_rule_delete(user=require_person(request.user), rule=rule)
        return Response(status=status.HTTP_204_NO_CONTENT)
