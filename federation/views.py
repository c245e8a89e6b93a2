"""The organization's trusted CI issuers page (owners), and ``POST /ci/token``, the keyless exchange."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors as org_selectors
from accounts.roles import require_person
from accounts.services import is_owner
from errors import PermissionRefused
from ui import page_errors
from ui.confirm import confirm_page, confirmed

from . import services, verify
from .forms import TrustedIssuerForm
from .models import TrustedIssuer


def _owned(request: HttpRequest, name: str) -> Any:
    organization = org_selectors.organization_for_member(name=name, user=request.user)
    if not is_owner(organization=organization, user=require_person(request.user)):
        raise PermissionRefused("Only the organization's owners can manage CI issuers.")
    return organization


@login_required
def issuers(request: HttpRequest, name: str) -> HttpResponse:
    organization = _owned(request, name)
    form = TrustedIssuerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with page_errors.onto(form):
            services.issuer_register(organization=organization, user=require_person(request.user), **form.arguments())
            messages.success(request, f"CI jobs whose tokens {form.cleaned_data['name']} signs can now log in.")
            return redirect("ci-issuers", name=organization.name)
    rows = TrustedIssuer.objects.filter(organization=organization).select_related("repository")
    exchange_url = f"{settings.WHARF_PUBLIC_URL}/ci/token"
    context = {"organization": organization, "issuers": rows, "form": form, "exchange_url": exchange_url}
    return render(request, "federation/issuers.html", context)


@login_required
@require_POST
def issuer_delete(request: HttpRequest, name: str, issuer_id: int) -> HttpResponse:
    organization = _owned(request, name)
    if not confirmed(request):
        issuer = get_object_or_404(TrustedIssuer, organization=organization, id=issuer_id)
        question = f"Stop trusting {issuer.name}? CI jobs it vouches for can no longer log in."
        cancel = reverse("ci-issuers", args=[organization.name])
        return confirm_page(request, title="Remove issuer", question=question, button="Remove issuer", cancel=cancel)
    services.issuer_delete(organization=organization, user=require_person(request.user), issuer_id=issuer_id)
    messages.success(request, "Issuer removed: its CI credentials no longer work.")
    return redirect("ci-issuers", name=organization.name)


class ExchangeView(APIView):
    """``POST /ci/token`` with ``organization`` and ``token`` (the CI job's OIDC JWT), as a form or JSON:
    ``{"username", "token", "expires_in", "expires_at"}`` to give ``docker login``, or 401 with why."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    renderer_classes = [JSONRenderer]

    def post(self, request: Request) -> Response:
        data: Any = request.data if hasattr(request.data, "get") else {}
        organization, token = data.get("organization"), data.get("token")
        if not isinstance(organization, str) or not isinstance(token, str) or not organization or not token:
            return Response({"error": "invalid_request", "message": "send organization and token"}, status=400)
        try:
            done = services.exchange(organization_name=organization, token=token)
        except verify.Refused as exc:
            return Response({"error": "invalid_token", "message": exc.reason}, status=401)
        body = {
            "username": "ci",
            "token": done.plaintext,
            "expires_in": int((done.token.expires_at - done.token.created_at).total_seconds()),
            "expires_at": done.token.expires_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        }
        return Response(body, headers={"Cache-Control": "no-store"})
