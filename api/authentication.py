"""Who calls the REST API: a personal access token, as ``Authorization: Bearer <token>`` or Basic
``user:<token>`` (GitHub's API takes both). Its scopes bound what the user's roles allow; a fine-grained token's reach
bounds which packages it sees (outside it, a package answers 404 as a missing one)."""

from __future__ import annotations

from django.contrib.auth.models import User
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from packages_app.access import Actor
from tokens_app import credentials
from tokens_app.base import TokenRejected
from tokens_app.models import PersonalAccessToken

_ACCEPTED = (PersonalAccessToken,)  # the REST API takes personal access tokens only
CALLER_ID_ATTR = "wharf_token_id"  # set on the Django request: the id of the token that called


class PersonalAccessTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[User | None, Actor] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        try:
            if header.lower().startswith(("bearer ", "token ")):
                found = credentials.authenticate(header.split(" ", 1)[1].strip(), only=_ACCEPTED)
            elif (basic := credentials.basic_credentials(header)) is not None:
                found = credentials.authenticate(basic[1], basic[0], only=_ACCEPTED)
            else:
                return None
        except TokenRejected as exc:
            raise exceptions.AuthenticationFailed(exc.reason) from None
        setattr(request._request, CALLER_ID_ATTR, found.token.pk)  # which token called (GET /api/user/tokens)
        return found.actor.user, found.actor

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="wharf-api"'
