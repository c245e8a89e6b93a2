"""Keyless CI login (``federation``): an organization's owner trusts a CI issuer; a CI job's OIDC token,
verified against the issuer's JWKS served over HTTP on loopback, is exchanged at ``POST /ci/token`` for a
short-lived credential that reaches only the bound packages. Every exchange is audited, refusals with why."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from accounts.models import Organization
from federation import services
from federation.models import CIToken
from packages_app.models import AuditEvent, Package
from packages_app.services.packages import package_for_write
from repositories.services import repository_create
from tests.conftest import basic
from tests.federation.issuer import AUDIENCE, CIIssuer
from tests.federation.issuer import ci_issuer as ci_issuer  # the fixture
from tests.oci import make_image, sha256
from tokens_app import registry_tokens

RULE = 'repository == "acme/api" and ref == "refs/heads/main"'
HOST = "registry.example"
OCTETS = "application/octet-stream"


@pytest.fixture
def trusted(owner: Any, ci_issuer: CIIssuer) -> Any:
    """acme trusts the test issuer, bound to acme/app (which alice pushed) with write."""
    package_for_write(name="acme/app", user=owner)
    package_for_write(name="acme/other", user=owner)
    acme = Organization.objects.get(name="acme")
    return services.issuer_register(
        organization=acme, user=owner, name="ci", issuer=ci_issuer.url, audience=AUDIENCE, rule=RULE, role=2,
        packages=["acme/app"],
    )  # fmt: skip


def exchange(client: Client, token: str, organization: str = "acme") -> Any:
    return client.post("/ci/token", {"organization": organization, "token": token})


def refusals() -> list[str]:
    return list(AuditEvent.objects.filter(action="ci.refused").values_list("detail", flat=True))


def test_a_token_from_the_trusted_issuer_is_exchanged_and_audited(
    client: Client, trusted: Any, ci_issuer: CIIssuer
) -> None:
    answer = exchange(client, ci_issuer.sign())

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["token"].startswith("wharf_cit_")
    assert body["username"] == "ci"
    assert 890 <= body["expires_in"] <= 900
    assert answer["Cache-Control"] == "no-store"
    stored = CIToken.objects.get()
    assert stored.subject == "repo:acme/api:ref:refs/heads/main"
    assert body["token"] not in stored.digest
    assert len(stored.digest) == 64
    event = AuditEvent.objects.get(action="ci.login")
    assert event.namespace == "acme"
    assert event.actor == "CI acme/ci (repo:acme/api:ref:refs/heads/main)"
    assert {"/.well-known/openid-configuration", "/jwks"} <= set(ci_issuer.fetches)


def _forged(issuer: CIIssuer, case: str) -> str:
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forgeries: dict[str, Callable[[], str]] = {
        "wrong-audience": lambda: issuer.sign(aud="https://elsewhere.example"),
        "expired": lambda: issuer.sign(exp=int(time.time()) - 600, iat=int(time.time()) - 900),
        "not-yet-valid": lambda: issuer.sign(nbf=int(time.time()) + 600),
        "wrong-issuer": lambda: issuer.sign(iss="https://token.evil.example"),
        "rule-not-met": lambda: issuer.sign(ref="refs/heads/feature"),
        "claim-missing": lambda: issuer.sign(ref=None),
        "alg-none": lambda: issuer.forge("none"),
        "hs256-with-public-key": lambda: issuer.forge("HS256"),
        "unknown-kid": lambda: issuer.sign(kid="some-other-key", key=other_key),
        "known-kid-other-key": lambda: issuer.sign(key=other_key),
        "no-exp": lambda: issuer.sign(exp=None),
        "not-a-jwt": lambda: "wharf_pat_notajwt",
    }
    return forgeries[case]()


REASONS = {
    "wrong-audience": "not issued for this audience",
    "expired": "has expired",
    "not-yet-valid": "not valid yet",
    "wrong-issuer": "acme trusts no issuer 'https://token.evil.example'",
    "rule-not-met": 'ref == "refs/heads/main" is not true',
    "claim-missing": 'ref == "refs/heads/main" is not true',
    "alg-none": "algorithm 'none' is not accepted",
    "hs256-with-public-key": "algorithm 'HS256' is not accepted",
    "unknown-kid": "signing key (kid) is not one of the issuer's keys",
    "known-kid-other-key": "signature is not valid",
    "no-exp": "lacks the 'exp' claim",
    "not-a-jwt": "not a JWT",
}


@pytest.mark.parametrize("case", list(REASONS))
def test_each_bad_ci_token_is_refused_with_a_clear_reason_and_audited(
    client: Client, trusted: Any, ci_issuer: CIIssuer, case: str
) -> None:
    answer = exchange(client, _forged(ci_issuer, case))

    assert answer.status_code == 401, answer.content
    assert answer.json()["error"] == "invalid_token"
    assert REASONS[case] in answer.json()["message"]
    assert not CIToken.objects.exists()
    assert [REASONS[case] in detail for detail in refusals()] == [True]


def test_an_unknown_organization_is_refused_like_one_trusting_nothing(
    client: Client, db: None, ci_issuer: CIIssuer
) -> None:
    answer = exchange(client, ci_issuer.sign(), organization="nobody")
    assert answer.status_code == 401
    assert answer.json()["message"] == "no trusted issuer accepts this token"


def test_a_request_without_organization_or_token_is_a_400(client: Client, db: None) -> None:
    assert client.post("/ci/token", {"token": "x"}).status_code == 400
    assert client.post("/ci/token", {"organization": "acme"}).json()["error"] == "invalid_request"


def _push_blob(client: Client, name: str, auth: str) -> Any:
    data = b"pushed by CI"
    return client.post(
        f"/v2/{name}/blobs/uploads/?digest={sha256(data)}",
        data,
        content_type=OCTETS,
        HTTP_AUTHORIZATION=auth,
        HTTP_HOST=HOST,
    )


def test_the_credential_pushes_the_bound_package_and_nothing_else(
    client: Client, trusted: Any, ci_issuer: CIIssuer
) -> None:
    auth = basic("ci", exchange(client, ci_issuer.sign()).json()["token"])
    image = make_image(seed="ci")
    for digest, data in image.blobs.items():
        response = client.post(
            f"/v2/acme/app/blobs/uploads/?digest={digest}", data, content_type=OCTETS, HTTP_AUTHORIZATION=auth
        )
        assert response.status_code == 201, response.content
    manifest = client.put(
        "/v2/acme/app/manifests/v1", image.manifest, content_type=image.media_type, HTTP_AUTHORIZATION=auth
    )
    assert manifest.status_code == 201, manifest.content
    assert AuditEvent.objects.get(action="push").actor == "CI acme/ci (repo:acme/api:ref:refs/heads/main)"

    other = _push_blob(client, "acme/other", auth)
    assert other.status_code == 403
    assert other.json()["errors"][0]["code"] == "DENIED"
    assert _push_blob(client, "acme/new", auth).status_code == 403  # it creates nothing
    pull = client.get("/v2/acme/other/tags/list", HTTP_AUTHORIZATION=auth)
    assert pull.status_code == 404
    assert pull.json()["errors"][0]["code"] == "NAME_UNKNOWN"
    deleted = client.delete(f"/v2/acme/app/manifests/{image.digest}", HTTP_AUTHORIZATION=auth)
    assert deleted.status_code == 403
    assert "delete:packages" in deleted.content.decode()


def test_the_credential_works_through_token_as_docker_uses_it(
    client: Client, trusted: Any, ci_issuer: CIIssuer
) -> None:
    auth = basic("ci", exchange(client, ci_issuer.sign()).json()["token"])
    scope = "scope=repository:acme/app:push,pull&scope=repository:acme/other:push,pull"
    answer = client.get(f"/token?service={HOST}&{scope}", HTTP_AUTHORIZATION=auth, HTTP_HOST=HOST)

    grant = registry_tokens.verify(answer.json()["token"], service=HOST)
    assert grant.access == {"acme/app": frozenset({"pull", "push"}), "acme/other": frozenset()}
    bearer = f"Bearer {answer.json()['token']}"
    assert _push_blob(client, "acme/app", bearer).status_code == 201
    refused = _push_blob(client, "acme/other", bearer)
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "DENIED"


def test_an_expired_credential_is_refused(client: Client, trusted: Any, ci_issuer: CIIssuer) -> None:
    secret = exchange(client, ci_issuer.sign()).json()["token"]
    CIToken.objects.update(expires_at=CIToken.objects.get().created_at)
    response = _push_blob(client, "acme/app", basic("ci", secret))
    assert response.status_code == 401
    assert "expired" in response.content.decode()


def test_removing_the_issuer_ends_its_credentials(
    client: Client, trusted: Any, ci_issuer: CIIssuer, owner: Any
) -> None:
    secret = exchange(client, ci_issuer.sign()).json()["token"]
    services.issuer_delete(organization=trusted.organization, user=owner, issuer_id=trusted.id)
    assert _push_blob(client, "acme/app", basic("ci", secret)).status_code == 401


def test_a_read_issuer_bound_to_a_repository_pulls_but_does_not_push(
    client: Client, owner: Any, ci_issuer: CIIssuer
) -> None:

    repository = repository_create(owner="acme", name="api", user=owner)
    services.issuer_register(
        organization=Organization.objects.get(name="acme"), user=owner, name="ro", issuer=ci_issuer.url,
        audience=AUDIENCE, rule=RULE, role=1, repository="api",
    )  # fmt: skip
    auth = basic("ci", exchange(client, ci_issuer.sign()).json()["token"])
    response = _push_blob(client, "acme/api-image", auth)
    assert response.status_code == 403
    assert "write:packages" in response.content.decode()
    assert not Package.objects.filter(repository=repository).exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rule": "repository = acme"}, "Cannot read"),
        ({"issuer": "http://ci.example.com"}, "must be https://"),
        ({"packages": ["beta/app"]}, "is not a package of acme"),
        ({"packages": [], "repository": ""}, "Bind the issuer"),
        ({"repository": "missing", "packages": []}, "acme has no repository"),
    ],
)
def test_registering_an_issuer_checks_what_it_is_given(owner: Any, change: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"name": "ci", "issuer": "https://token.actions.example", "audience": AUDIENCE,
                                 "rule": RULE, "role": 2, "packages": ["acme/app"]} | change  # fmt: skip
    with pytest.raises(ValidationError, match=message):
        services.issuer_register(organization=Organization.objects.get(name="acme"), user=owner, **arguments)


def test_only_owners_trust_issuers_and_see_the_page(member: Any, owner: Any, client: Client) -> None:
    with pytest.raises(PermissionDenied):
        services.issuer_register(
            organization=Organization.objects.get(name="acme"), user=member, name="ci",
            issuer="https://t.example", audience="a", rule=RULE, role=2, packages=["acme/app"],
        )  # fmt: skip
    client.force_login(member)
    assert client.get("/orgs/acme/ci-issuers").status_code == 403
    client.force_login(owner)
    page = client.get("/orgs/acme/ci-issuers")
    assert page.status_code == 200
    assert b"Trust a CI issuer" in page.content


def test_the_page_registers_an_issuer(owner: Any, client: Client, ci_issuer: CIIssuer) -> None:
    client.force_login(owner)
    form = {"name": "gha", "issuer": ci_issuer.url, "audience": AUDIENCE, "rule": RULE, "packages": "acme/app",
            "repository": "", "role": "2"}  # fmt: skip
    response = client.post("/orgs/acme/ci-issuers", form)
    assert response.status_code == 302, response.content
    page = client.get("/orgs/acme/ci-issuers").content.decode()
    assert "gha" in page
    assert "acme/app" in page
    assert RULE.replace('"', "&quot;") in page


def test_the_catalog_lists_what_a_package_bound_credential_reaches(
    client: Client, trusted: Any, ci_issuer: CIIssuer
) -> None:
    auth = basic("ci", exchange(client, ci_issuer.sign()).json()["token"])
    listed = client.get("/v2/_catalog", HTTP_AUTHORIZATION=auth)
    assert listed.status_code == 200, listed.content
    assert listed.json()["repositories"] == ["acme/app"]
