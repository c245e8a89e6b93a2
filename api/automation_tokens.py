"""REST API of a source repository's automation tokens: ``GET /api/repos/{owner}/{repo}/automation-tokens``
lists them (never their secrets) and ``DELETE …/automation-tokens/{id}`` revokes one. The repository's
admins only, with a token holding ``write:packages``; to anyone else, and to a fine-grained token limited
to chosen packages or to another organization, the repository answers the same 404 as a missing one.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.roles import require_person
from repositories.models import SourceRepository
from repositories.selectors import RepositoryUnknown, repository_for_admin
from tokens_app.automation import automation_token_data, automation_token_revoke, automation_tokens_of
from tokens_app.models import AutomationToken

from . import serializers as s
from .errors import NOT_FOUND
from .openapi import extend_schema
from .views import WRITE, ApiView

ERRORS = {401: s.MessageSerializer, 403: s.MessageSerializer, 404: s.MessageSerializer}


class AutomationTokenSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    prefix = serializers.CharField(help_text="The start of the token: `wharf_ats_<prefix>…`.")
    active = serializers.BooleanField(help_text="Neither revoked nor expired: it authenticates.")
    created_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class AutomationTokenApiView(ApiView):
    def repository(self, request: Request, owner: str, repo: str) -> SourceRepository:
        """The repository, if the caller administers it and their token reaches its owner."""
        reach = self.actor(request, WRITE).reach
        if reach is not None and (reach.packages is not None or reach.namespace != owner):
            raise exceptions.NotFound(NOT_FOUND)
        try:
            return repository_for_admin(owner=owner, name=repo, user=request.user)
        except RepositoryUnknown:
            raise exceptions.NotFound(NOT_FOUND) from None


class AutomationTokenList(AutomationTokenApiView):
    @extend_schema(responses={200: AutomationTokenSerializer(many=True), **ERRORS})
    def get(self, request: Request, owner: str, repo: str) -> Response:
        """List a repository's automation tokens, newest first, revoked and expired ones included."""
        repository = self.repository(request, owner, repo)
        tokens = automation_tokens_of(repository=repository)
        return Response([automation_token_data(t) for t in tokens])


class AutomationTokenDetail(AutomationTokenApiView):
    @extend_schema(responses={204: None, **ERRORS})
    def delete(self, request: Request, owner: str, repo: str, token_id: str) -> Response:
        """Revoke an automation token: it stops authenticating at once (registry tokens it was exchanged for,
        within ``WHARF_REGISTRY_AUTH_CACHE_SECONDS``). Revoking a revoked token answers 204 too."""
        repository = self.repository(request, owner, repo)
        try:
            automation_token_revoke(repository=repository, token_id=int(token_id), user=require_person(request.user))
        except AutomationToken.DoesNotExist:
            raise exceptions.NotFound(NOT_FOUND) from None
        return Response(status=status.HTTP_204_NO_CONTENT)
