"""``GET /token`` (and the OAuth2 ``POST`` form): registry bearer tokens, as ghcr.io issues them.

Takes Basic ``username:personal-access-token`` or nothing (anonymous), a ``service`` and any number
of ``scope=repository:NAME:ACTIONS``. Grants, per repository, the asked actions that the caller may
do (roles ∩ token scopes) — never more; a repository the caller may not see just gets no actions.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser, FormParser
from rest_framework.response import Response

from packages_app.access import ANONYMOUS, Action, Actor, can
from packages_app.exceptions import NameInvalid, TooManyScopes, Unauthorized
from packages_app.names import parse_name
from tokens_app import registry_tokens

from .. import auth
from .common import IgnoreAccept, RegistryView

_ACTIONS = {"pull": Action.PULL, "push": Action.PUSH, "delete": Action.DELETE}


def scope_items(values: list[str]) -> list[str]:
    """Every scope asked for, one per item: ``scope`` may repeat and each may hold several, space-separated.
    More than WHARF_TOKEN_MAX_SCOPES is refused before any is looked at (each costs role lookups and
    token bytes: 10,000 of them took 30 s and made a 1.6 MB token)."""
    items = [item for value in values for item in value.split(" ") if item]
    limit = int(settings.WHARF_TOKEN_MAX_SCOPES)
    if len(items) > limit:
        raise TooManyScopes(
            f"{len(items)} scopes asked for; one token request may ask for at most {limit}", detail={"limit": limit}
        )
    return items


def parse_scopes(values: list[str]) -> dict[str, set[str]]:
    """``repository:acme/app:push,pull`` → ``{"acme/app": {"push", "pull"}}``; other scope types are ignored."""
    asked: dict[str, set[str]] = {}
    for item in scope_items(values):
        kind, _, rest = item.partition(":")
        name, _, actions = rest.rpartition(":")
        if kind != "repository" or not name:
            continue
        try:
            parse_name(name)
        except NameInvalid:
            continue
        wanted = set(_ACTIONS) if actions == "*" else {a for a in actions.split(",") if a in _ACTIONS}
        asked.setdefault(name, set()).update(wanted)
    return asked


def grant(actor: Actor, asked: dict[str, set[str]]) -> dict[str, list[str]]:
    """Per repository, the asked actions the caller may do (roles ∩ token scopes; packages_app.access)."""
    return {name: sorted(a for a in actions if can(actor, name, _ACTIONS[a])) for name, actions in asked.items()}


class _ParseForms(IgnoreAccept):
    """Registry negotiation for Accept, but the OAuth2 form body is parsed (registry views parse none)."""

    def select_parser(self, request: Any, parsers: Iterable[BaseParser]) -> Any:
        return DefaultContentNegotiation().select_parser(request, parsers)


class TokenView(RegistryView):
    parser_classes = [FormParser]
    content_negotiation_class = _ParseForms

    def get(self, request: Any) -> Response:
        return self._issue(request, auth.actor_for(request), request.query_params.getlist("scope"))

    def post(self, request: Any) -> Response:
        """OAuth2 password grant (containerd, buildkit): the same credentials in a form."""
        data = request.data
        grant_type = data.get("grant_type", "")
        if grant_type == "password":
            actor = auth.actor_for_basic(data.get("username", ""), data.get("password", ""))
        elif grant_type:  # RFC 6749 §5.2: we issue no refresh tokens, so only the password grant exists
            return Response({"error": "unsupported_grant_type"}, status=400)
        else:
            actor = ANONYMOUS
        return self._issue(request, actor, data.get("scope", "").split(" "))

    def _issue(self, request: Any, actor: Actor, scopes: list[str]) -> Response:
        if actor.grants is not None:
            raise Unauthorized("a registry token cannot be exchanged for another; send your personal access token")
        access = grant(actor, parse_scopes(scopes))
        username = actor.user.username if actor.user else ""
        token, issued, lifetime = registry_tokens.issue(
            username=username,
            service=auth.service_name(request),
            access=access,
            scopes=sorted(actor.scopes) if actor.scopes is not None else [],
            repository_id=actor.repository_id,
            reach=actor.reach,
            role=actor.role,
            name=actor.name,
        )
        issued_at = datetime.fromtimestamp(issued, UTC).isoformat().replace("+00:00", "Z")
        body = {"token": token, "access_token": token, "expires_in": lifetime, "issued_at": issued_at}
        return Response(body, headers={"Cache-Control": "no-store"})
