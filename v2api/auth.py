"""Who is calling the registry, and the one gate every registry view passes through.

Credentials, as ghcr.io takes them (Docker "Token Authentication Specification"):

* ``Authorization: Bearer <registry token>`` issued by ``GET /token`` (``tokens_app.registry_tokens``);
* ``Authorization: Basic user:<personal access token>`` sent straight to ``/v2/`` (some clients do);
* ``Basic <any user>:<repository automation token>`` (``wharf_ats_…``), like GitHub's ``GITHUB_TOKEN``;
* ``Basic <any user>:<CI credential>`` (``wharf_cit_…``), exchanged for a CI job's OIDC token (``federation``);
* nothing: anonymous.

What the caller may do is decided in ``packages_app.access``; views only call ``require``/``allowed``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model

from packages_app.access import ANONYMOUS, Action, Actor, Seen, authorize, can
from packages_app.exceptions import INVALID_TOKEN, TooManyRequests, Unauthorized
from packages_app.models import Role
from throttling import limiter
from tokens_app import credentials, registry_tokens
from tokens_app.base import TokenRejected
from tokens_app.models import AUTOMATION_SCOPES

from . import bearer_cache

_CACHE_ATTR = "_wharf_actor"


def public_host() -> str:
    """``host[:port]`` of WHARF_PUBLIC_URL: what clients type in ``docker login`` and ``docker pull``."""
    return urlsplit(settings.WHARF_PUBLIC_URL).netloc


def service_name(request: Any = None) -> str:
    """The ``service`` registry tokens are issued for: configured, or the public host. Never the
    request's Host header, which anyone can set (a token would then be minted for their audience)."""
    return str(settings.WHARF_REGISTRY_SERVICE or public_host())


def _django(request: Any) -> Any:
    return getattr(request, "_request", request)


def basic_credentials(request: Any) -> tuple[str, str] | None:
    """``(username, secret)`` from a Basic Authorization header, if there is one."""
    try:
        return credentials.basic_credentials(_django(request).META.get("HTTP_AUTHORIZATION", ""))
    except TokenRejected as exc:
        raise Unauthorized(exc.reason) from None


def actor_for_basic(username: str, secret: str) -> Actor:
    """A personal access token (of that user), a repository's automation token or a CI credential (any
    username): ``tokens_app.credentials``."""
    try:
        return credentials.authenticate(secret, username).actor
    except TokenRejected as exc:
        raise Unauthorized(exc.reason) from None


def _actor_for_bearer(request: Any, token: str) -> Actor:
    """The token's actor, remembered per process for a short while (``bearer_cache``: what that means
    for revocation)."""
    service = service_name(request)
    return bearer_cache.actor_for_token(token, service, lambda: _verify_bearer(token, service))


def _verify_bearer(token: str, service: str) -> tuple[Actor, int]:
    """The actor a registry token stands for, with the token's expiry (epoch seconds)."""
    try:
        grant = registry_tokens.verify(token, service=service)
    except registry_tokens.BearerRejected as exc:
        raise Unauthorized(exc.reason, error=INVALID_TOKEN) from None
    user = get_user_model().objects.filter(username=grant.username, is_active=True).first() if grant.username else None
    if grant.username and user is None:
        raise Unauthorized("the account this token was issued to no longer exists", error=INVALID_TOKEN)
    return _actor_of_grant(grant, user), grant.expires_at


def _actor_of_grant(grant: registry_tokens.Grant, user: Any) -> Actor:
    if grant.repository_id is not None:
        scopes = grant.scopes or AUTOMATION_SCOPES
        return Actor(scopes=scopes, grants=grant.access, repository_id=grant.repository_id, name=grant.name)
    if grant.role is not None:
        role = Role(grant.role)
        return Actor(scopes=grant.scopes, grants=grant.access, reach=grant.reach, role=role, name=grant.name)
    return Actor(user=user, scopes=grant.scopes if user else None, grants=grant.access, reach=grant.reach)


def actor_for(request: Any) -> Actor:
    """The caller, resolved once per request. Bad credentials are refused, never downgraded."""
    django_request = _django(request)
    cached = getattr(django_request, _CACHE_ATTR, None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    header = django_request.META.get("HTTP_AUTHORIZATION", "")
    if header.lower().startswith("bearer "):
        actor = _actor_for_bearer(request, header[7:].strip())
    elif (basic := basic_credentials(request)) is not None:
        actor = actor_for_basic(*basic)
    else:
        actor = ANONYMOUS
    _check_user_rate(actor)
    setattr(django_request, _CACHE_ATTR, actor)
    return actor


def _check_user_rate(actor: Actor) -> None:
    """One budget per user across all their tokens (``WHARF_RATE_LIMIT_USER``), counted once per request."""
    limit = int(settings.WHARF_RATE_LIMIT_USER)
    if limit and actor.user is not None and (wait := limiter.hit(f"user:{actor.user.pk}", limit)) is not None:
        raise TooManyRequests("too many requests for this user; retry later", retry_after=wait)


def require(request: Any, name: str, action: Action, seen: Seen | None = None) -> Actor:
    """The caller, if it may do ``action`` on ``name`` (``seen``: the live package the request's own
    query found, ``packages_app.access.can``). It only reads: what a push creates (the package, and
    for an automation token its link to the token's repository, ``publishing_repository``) is created
    by the service that writes it."""
    actor = actor_for(request)
    authorize(actor, name, action, seen)
    return actor


def publishing_repository(actor: Actor) -> int | None:
    """The repository a package created by ``actor``'s push is linked to: an automation token's (or a
    repository-bound CI credential's) own; None for everyone else, and in an open registry
    (``WHARF_ANONYMOUS_PUSH``), where such a push links nothing (as before issue 10). The write services
    take it as ``repository_id`` (``packages_app.services.packages.package_for_write``)."""
    return None if settings.WHARF_ANONYMOUS_PUSH else actor.repository_id


def require_login(request: Any) -> Actor:
    """``GET /v2/``: anonymous callers are challenged (as ghcr.io does) unless the registry is open."""
    actor = actor_for(request)
    if actor.is_anonymous and actor.grants is None and not settings.WHARF_ANONYMOUS_PUSH:
        raise Unauthorized()
    return actor


def allowed(request: Any, name: str, action: Action) -> bool:
    return can(actor_for(request), name, action)


def challenge(request: Any, scope: str = "", error: str = "") -> str:
    """``WWW-Authenticate`` pointing clients at the token endpoint on the public URL, with the RFC 6750
    §3 ``error`` (``invalid_token``, ``insufficient_scope``) when the request carried a token."""
    value = f'Bearer realm="{settings.WHARF_PUBLIC_URL}/token",service="{service_name()}"'
    value += f',scope="{scope}"' if scope else ""
    return value + (f',error="{error}"' if error else "")
