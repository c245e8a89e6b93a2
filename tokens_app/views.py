"""Settings pages for personal access tokens (list, create — shown once —, revoke) and the public keys
that verify registry bearer tokens (``GET /.well-known/jwks.json``). A repository's automation tokens
are issued and revoked on its page (``repositories.views``)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import require_person
from throttling.pages import token_creation_wait
from ui import page_errors
from ui.confirm import confirm_page, confirmed

from . import registry_tokens, selectors, services
from .forms import TokenForm
from .models import PersonalAccessToken
from .reach import reach_data


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    tokens = [(t, reach_data(t)) for t in selectors.tokens_visible(user=require_person(request.user))]
    has_password = selectors.has_password(user=require_person(request.user))
    return render(request, "tokens_app/token_list.html", {"tokens": tokens, "has_password": has_password})


@login_required
@never_cache  # the created page holds the token's only copy: keep it out of caches and history
def token_new(request: HttpRequest) -> HttpResponse:
    organizations = selectors.organization_names(user=require_person(request.user))
    form = TokenForm(request.POST or None, organizations=organizations)
    if request.method == "POST" and (wait := token_creation_wait(request)) is not None:
        form.add_error(None, f"Too many tokens created; try again in {wait} seconds.")
        response = render(request, "tokens_app/token_new.html", {"form": form}, status=429)
        response["Retry-After"] = str(wait)
        return response
    if request.method == "POST" and form.is_valid():
        with page_errors.onto(form):
            new = services.token_create(
                user=require_person(request.user),
                note=form.cleaned_data["note"],
                scopes=form.cleaned_data["scopes"],
                expires_at=form.cleaned_data["expires_at"],
                **form.reach_arguments(),
            )
            return render(request, "tokens_app/token_created.html", {"token": new.token, "plaintext": new.plaintext})
    return render(request, "tokens_app/token_new.html", {"form": form})


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """Revoke one of the person's tokens, after the confirm step (ui.confirm)."""
    try:
        token = selectors.token_of(user=require_person(request.user), token_id=token_id)
    except PersonalAccessToken.DoesNotExist:
        raise Http404("No such token") from None
    if not confirmed(request):
        return confirm_page(
            request,
            title="Revoke token",
            question=f"Revoke the token “{token.note}”? Clients using it can no longer sign in.",
            button="Revoke token",
            cancel="/settings/tokens/",
        )
    try:
        services.token_revoke(user=require_person(request.user), token_id=token_id)
    except PersonalAccessToken.DoesNotExist:
        raise Http404("No such token") from None
    messages.success(request, "Token revoked. Clients using it can no longer sign in.")
    return redirect("token-list")


@require_GET
def jwks(request: HttpRequest) -> HttpResponse:
    """The JWK Set of the keys that verify registry bearer tokens (ES256; tokens name theirs in ``kid``).
    Cached for a minute: a verifier that meets an unknown ``kid`` should fetch it again."""
    response = JsonResponse(registry_tokens.jwks())
    response["Cache-Control"] = "public, max-age=60"
    return response
