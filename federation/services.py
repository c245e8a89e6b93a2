"""Keyless CI login: registering trusted issuers, exchanging a CI job's OIDC token for a short-lived
registry credential (every attempt in the organization's audit log), and authenticating that credential."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from accounts.models import Organization
from accounts.services import is_owner
from errors import Conflict, InvalidInput, PermissionRefused
from packages_app.exceptions import NameInvalid
from packages_app.models import AuditEvent
from packages_app.names import parse_name
from repositories.models import SourceRepository

from . import rules, verify
from .models import CIToken, TrustedIssuer

# --- registering issuers (organization owners) ----------------------------------------------------


def _clean_issuer_url(url: str) -> str:
    """https, or http on a loopback address (a CI system on the same machine, and tests)."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return url.strip()
    if parts.scheme == "http" and (host == "localhost" or _is_loopback(host)):
        return url.strip()
    raise InvalidInput("The issuer URL must be https:// (http:// only on a loopback address).", code="issuer")


def _is_loopback(host: str) -> bool:
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _clean_packages(organization: Organization, names: list[str]) -> list[str]:
    chosen = sorted({n.strip().lower() for n in names if n.strip()})
    for name in chosen:
        try:
            parse_name(name)
        except NameInvalid:
            raise InvalidInput(f"{name!r} is not a package name.", code="packages") from None
        if name.split("/", 1)[0] != organization.name:
            raise InvalidInput(f"{name!r} is not a package of {organization.name}.", code="packages")
    return chosen


def _binding(organization: Organization, repository: str, packages: list[str]) -> dict[str, Any]:
    """Exactly one of: a repository of the organization, or some of its packages."""
    chosen = _clean_packages(organization, packages)
    if bool(repository.strip()) == bool(chosen):
        raise InvalidInput("Bind the issuer to one repository or to chosen packages.", code="binding")
    if not chosen:
        found = SourceRepository.objects.filter(owner=organization.name, name=repository.strip().lower()).first()
        if found is None:
            raise InvalidInput(f"{organization.name} has no repository {repository!r}.", code="binding")
        return {"repository": found, "packages": []}
    return {"repository": None, "packages": chosen}


def issuer_register(
    *,
    organization: Organization,
    user: User,
    name: str,
    issuer: str,
    audience: str,
    rule: str,
    role: int,
    repository: str = "",
    packages: list[str] | None = None,
) -> TrustedIssuer:
    """Trust ``issuer``'s tokens for ``audience`` that meet ``rule`` (``federation.rules``), with ``role``
    on one repository's packages or on chosen packages of the organization."""
    if not is_owner(organization=organization, user=user):
        raise PermissionRefused("Only the organization's owners can trust CI issuers.")
    if not name.strip() or not audience.strip():
        raise InvalidInput("Give the issuer a name and the audience its tokens carry.", code="name")
    if TrustedIssuer.objects.filter(organization=organization, name=name.strip()).exists():
        raise Conflict(f"{organization.name} already trusts an issuer named {name.strip()!r}.", code="name")
    if role not in TrustedIssuer.Role.values:
        raise InvalidInput("The role is read or write.", code="role")
    rules.parse_rule(rule)
    return TrustedIssuer.objects.create(
        organization=organization,
        name=name.strip(),
        issuer=_clean_issuer_url(issuer),
        audience=audience.strip(),
        rule=rule.strip(),
        role=role,
        created_by=user,
        **_binding(organization, repository, packages or []),
    )


def issuer_delete(*, organization: Organization, user: User, issuer_id: int) -> None:
    """Stop trusting an issuer; the credentials it was exchanged for stop working at once."""
    if not is_owner(organization=organization, user=user):
        raise PermissionRefused("Only the organization's owners can remove CI issuers.")
    TrustedIssuer.objects.filter(organization=organization, id=issuer_id).delete()


# --- the exchange -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exchanged:
    token: CIToken
    plaintext: str


def _audit(organization: Organization, action: str, actor: str, detail: str) -> None:
    AuditEvent.objects.create(
        package=None,
        namespace=organization.name,
        package_name="",
        actor=actor[:255],
        action=action,
        detail=detail[:1000],
    )


def _accepting(candidates: list[TrustedIssuer], token: str) -> tuple[TrustedIssuer, dict[str, Any]]:
    """The first candidate whose audience and rule the verified token meets; Refused with the reason the
    last candidate gave otherwise."""
    reason = "no trusted issuer accepts this token"
    for candidate in candidates:
        try:
            claims = verify.verify(token, issuer=candidate.issuer, audience=candidate.audience)
        except verify.Refused as exc:
            reason = exc.reason
            continue
        clause = rules.unmet(rules.parse_rule(candidate.rule), claims)
        if clause is None:
            return candidate, claims
        reason = f"the CI token does not meet the rule of {candidate.name!r}: {clause} is not true"
    raise verify.Refused(reason)


def exchange(*, organization_name: str, token: str) -> Exchanged:
    """A short-lived credential (``WHARF_CI_TOKEN_SECONDS``) for a CI token one of the organization's
    trusted issuers accepts. Every attempt on an existing organization is audited, refusals with why."""
    organization = Organization.objects.filter(name=organization_name.strip().lower()).first()
    if organization is None:
        raise verify.Refused("no trusted issuer accepts this token")
    try:
        claimed = verify.unverified_issuer(token)
        candidates = list(TrustedIssuer.objects.filter(organization=organization, issuer=claimed))
        if not candidates:
            raise verify.Refused(f"{organization.name} trusts no issuer {claimed!r}")
        trusted, claims = _accepting(candidates, token)
    except verify.Refused as exc:
        _audit(organization, AuditEvent.Action.CI_REFUSED, "CI job (unverified)", exc.reason)
        raise
    return _issue(trusted, claims)


def _issue(trusted: TrustedIssuer, claims: dict[str, Any]) -> Exchanged:
    expires_at = timezone.now() + timedelta(seconds=settings.WHARF_CI_TOKEN_SECONDS)
    subject = str(claims.get("sub", ""))[:255]
    token, plaintext = CIToken.issue(issuer=trusted, subject=subject, expires_at=expires_at)
    detail = (
        f"issuer {trusted.name}, sub {subject}, credential {token.prefix}, until {expires_at:%Y-%m-%d %H:%M:%S} UTC"
    )
    _audit(trusted.organization, AuditEvent.Action.CI_LOGIN, token.label, detail)
    return Exchanged(token, plaintext)
