"""The personal access token pages under /settings/tokens/ (REGISTRY.md "Accounts, tokens and login"):
scopes, an optional expiry, shown once, stored only as a hash, revocable, with last-used time."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from django.template.defaultfilters import date as date_filter
from django.test import Client
from django.utils import timezone

from tests.conftest import make_pat
from tokens_app.models import PersonalAccessToken
from tokens_app.services import TokenRejected, token_authenticate, token_create

SCOPES = ["read:packages", "write:packages", "delete:packages"]


@pytest.fixture
def alice(client: Client, owner: Any) -> Client:
    client.force_login(owner)
    return client


def text(response: Any) -> str:
    return str(response.content.decode())


def create(client: Client, **data: Any) -> Any:
    form = {"note": "laptop", "scopes": ["write:packages"], "expiration": "30", **data}
    return client.post("/settings/tokens/new", form)


def plaintext_of(response: Any) -> str:
    found = set(re.findall(r"wharf_pat_[0-9a-f]{12}[A-Za-z0-9_-]+", text(response)))
    assert len(found) == 1, found
    return str(found.pop())


@pytest.mark.parametrize("path", ["/settings/tokens/", "/settings/tokens/new"])
def test_the_token_pages_need_a_signed_in_user(client: Client, db: None, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


def test_revoking_needs_a_signed_in_user(client: Client, owner: Any) -> None:
    token = PersonalAccessToken.objects.get(prefix=make_pat(owner)[10:22])
    response = client.post(f"/settings/tokens/{token.id}/revoke")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_new_token_form_offers_scopes_as_check_boxes_and_the_expiry_choices(alice: Client) -> None:
    page = text(alice.get("/settings/tokens/new"))
    assert "<title>New personal access token · Wharf</title>" in page
    for scope in SCOPES:
        assert f'type="checkbox" name="scopes" value="{scope}"' in page
    for value in ("7", "30", "60", "90", "custom", "none"):
        assert f'<option value="{value}"' in page
    assert 'type="date" name="expires_on"' in page


def test_a_created_token_is_shown_exactly_once_and_works(alice: Client, owner: Any) -> None:
    response = create(alice, note="ci on laptop", scopes=["write:packages"], expiration="30")
    assert response.status_code == 200
    plaintext = plaintext_of(response)
    assert text(response).count(plaintext) == 1
    assert "no-store" in response["Cache-Control"]
    assert token_authenticate(username="alice", secret=plaintext).note == "ci on laptop"
    token = PersonalAccessToken.objects.get(user=owner)
    assert token.scopes == ["read:packages", "write:packages"]  # write implies read
    assert plaintext not in (token.digest, token.prefix)
    listing = text(alice.get("/settings/tokens/"))
    assert plaintext not in listing
    assert plaintext[len("wharf_pat_") + 12 :] not in listing  # not even the secret part


@pytest.mark.parametrize("days", [7, 30, 60, 90])
def test_a_token_expires_after_the_chosen_number_of_days(alice: Client, owner: Any, days: int) -> None:
    before = timezone.now()
    create(alice, expiration=str(days))
    expires_at = PersonalAccessToken.objects.get(user=owner).expires_at
    assert expires_at is not None
    assert before + timedelta(days=days) <= expires_at <= timezone.now() + timedelta(days=days)


def test_a_token_can_expire_on_a_chosen_date(alice: Client, owner: Any) -> None:
    day = timezone.localdate() + timedelta(days=10)
    create(alice, expiration="custom", expires_on=day.isoformat())
    expires_at = PersonalAccessToken.objects.get(user=owner).expires_at
    assert expires_at == timezone.make_aware(datetime.combine(day, time.min))


def test_a_token_can_have_no_expiry(alice: Client, owner: Any) -> None:
    response = create(alice, expiration="none")
    assert "no expiration" in text(response)
    assert PersonalAccessToken.objects.get(user=owner).expires_at is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"scopes": []}, "This field is required."),
        ({"scopes": ["admin:everything"]}, "Select a valid choice."),
        ({"expiration": "custom"}, "Pick the date the token expires."),
        ({"expiration": "custom", "expires_on": "2000-01-01"}, "The expiry date must be in the future."),
        ({"expiration": "365"}, "Select a valid choice."),
        ({"note": "   "}, "This field is required."),
    ],
)
def test_a_refused_form_is_shown_again_with_the_input_kept(
    alice: Client, owner: Any, data: dict[str, Any], message: str
) -> None:
    response = create(alice, **{"note": "keep me", "scopes": ["delete:packages"], **data})
    assert response.status_code == 200
    page = text(response)
    assert message in page
    assert "wharf_pat_" not in page
    if "note" not in data:
        assert 'value="keep me"' in page
    if "scopes" not in data:
        assert re.search(r'value="delete:packages"[^>]*checked', page)
    assert not PersonalAccessToken.objects.filter(user=owner).exists()


def test_the_list_shows_note_scopes_expiry_and_last_use_but_never_the_secret(alice: Client, owner: Any) -> None:
    used = make_pat(owner, "write:packages", expires_at=timezone.now() + timedelta(days=5))
    unused = make_pat(owner, "read:packages")
    token_authenticate(username="alice", secret=used)
    page = text(alice.get("/settings/tokens/"))
    assert page.count("<strong>test</strong>") == 2  # the notes
    assert "write:packages" in page
    assert "read:packages" in page
    assert date_filter(timezone.localtime(timezone.now() + timedelta(days=5)), "M j, Y") in page
    assert "no expiration</span>" in page  # the token without expiry
    assert "never used" in page
    assert " ago" in page
    assert used not in page
    assert unused not in page


def test_the_list_shows_only_ones_own_tokens(alice: Client, outsider: Any) -> None:
    token_create(user=outsider, note="eve's secret project", scopes=["read:packages"], expires_at=None)
    assert "eve&#x27;s secret project" not in text(alice.get("/settings/tokens/"))


def test_revoking_a_token_stops_it_working(alice: Client, owner: Any) -> None:
    plaintext = make_pat(owner)
    token = PersonalAccessToken.objects.get(user=owner)
    response = alice.post(f"/settings/tokens/{token.id}/revoke", {"confirm": "yes"}, follow=True)
    assert response.redirect_chain == [("/settings/tokens/", 302)]
    assert "Token revoked." in text(response)
    assert "revoked</span>" in text(response)
    token.refresh_from_db()
    assert token.revoked_at is not None
    with pytest.raises(TokenRejected, match="revoked"):
        token_authenticate(username="alice", secret=plaintext)


def test_revoking_is_a_post_only(alice: Client, owner: Any) -> None:
    make_pat(owner)
    token = PersonalAccessToken.objects.get(user=owner)
    assert alice.get(f"/settings/tokens/{token.id}/revoke").status_code == 405
    token.refresh_from_db()
    assert token.revoked_at is None


def test_someone_elses_token_cannot_be_revoked(alice: Client, outsider: Any) -> None:
    make_pat(outsider)
    token = PersonalAccessToken.objects.get(user=outsider)
    assert alice.post(f"/settings/tokens/{token.id}/revoke").status_code == 404
    assert alice.post(f"/settings/tokens/{token.id + 1000}/revoke").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_posting_without_the_csrf_token_is_refused(owner: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    make_pat(owner)
    token = PersonalAccessToken.objects.get(user=owner)
    assert create(client).status_code == 403
    assert client.post(f"/settings/tokens/{token.id}/revoke").status_code == 403
    assert PersonalAccessToken.objects.filter(user=owner).count() == 1
    token.refresh_from_db()
    assert token.revoked_at is None
    # and with the token from the form, the same post goes through
    client.get("/settings/tokens/new")
    csrf = client.cookies["csrftoken"].value
    assert create(client, csrfmiddlewaretoken=csrf).status_code == 200
    assert PersonalAccessToken.objects.filter(user=owner).count() == 2
