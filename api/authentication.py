"""Who calls the REST API: a personal access token, as ``Authorization: Bearer <token>`` or Basic
``user:<token>`` (GitHub's API takes both). Its scopes bound what the user's roles allow; a fine-grained token's reach
bounds which packages it sees (outside it, a package answers 404 as a missing one)."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions

from packages_app.access import Actor
from packages_app.exceptions import Unauthorized
from tokens_app.reach import reach_of
from tokens_app.services import TokenRejected, token_authenticate, token_authenticate_bearer
from v2api.auth import basic_credentials


class PersonalAccessTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Any) -> tuple[Any, Actor] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        try:
            if header.lower().startswith(("bearer ", "token ")):
                token = token_authenticate_bearer(secret=header.split(" ", 1)[1].strip())
            elif (credentials := _basic(request)) is not None:
                token = token_authenticate(username=credentials[0], secret=credentials[1])
            else:
                return None
        except TokenRejected as exc:
            raise exceptions.AuthenticationFailed(exc.reason) from None
        request._request.wharf_token_id = token.id  # which token called (GET /api/user/tokens)
        return token.user, Actor(user=token.user, scopes=frozenset(token.scopes), reach=reach_of(token))

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="wharf-api"'


def _basic(request: Any) -> tuple[str, str] | None:
    try:
        return basic_credentials(request)
    except Unauthorized:
        raise exceptions.AuthenticationFailed("malformed Basic credentials") from None
