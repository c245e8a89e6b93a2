"""``GET /api/user/tokens``: the caller's personal access tokens and what each can reach.

A token limited to chosen packages or to an organization sees only its own row (it must not learn
the names other tokens reach); any other token sees all of its user's tokens. Secrets are never shown.
"""

from __future__ import annotations

from typing import cast

from rest_framework.request import Request
from rest_framework.response import Response

from accounts.roles import require_person
from packages_app.access import Actor
from tokens_app import selectors

from .authentication import CALLER_ID_ATTR
from .openapi import extend_schema
from .serializers import TokenSerializer
from .views import ERRORS, ApiView


class TokenList(ApiView):
    @extend_schema(responses={200: TokenSerializer(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        """List your personal access tokens, with the packages or organization each one is limited to."""
        actor = cast(Actor, request.auth)
        calling = getattr(request._request, CALLER_ID_ATTR, None)
        rows = selectors.tokens_visible(
            user=require_person(request.user), only=calling if actor.reach is not None else None
        )
        return Response([selectors.token_data(t) for t in rows])
