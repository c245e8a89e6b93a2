from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.conftest import make_pat
from tokens_app import services
from tokens_app.models import PersonalAccessToken


def test_it_stores_only_a_prefix_and_a_hash_of_the_token(owner: Any) -> None:
    new = services.token_create(user=owner, note="ci", scopes=["write:packages"], expires_at=None)
    assert new.plaintext.startswith("wharf_pat_")
    row = PersonalAccessToken.objects.get()
    assert new.plaintext not in (row.prefix, row.digest)
    assert row.prefix in new.plaintext
    assert len(row.digest) == 64


def test_write_implies_read_and_delete_needs_read(owner: Any) -> None:
    assert services.normalize_scopes(["write:packages"]) == ["read:packages", "write:packages"]
    assert services.normalize_scopes(["delete:packages"]) == ["read:packages", "delete:packages"]
    with pytest.raises(ValidationError):
        services.normalize_scopes(["admin:everything"])
    with pytest.raises(ValidationError):
        services.normalize_scopes([])


def test_it_authenticates_the_right_user_with_the_token(owner: Any, outsider: Any) -> None:
    plaintext = make_pat(owner, "read:packages")
    assert services.token_authenticate(username="alice", secret=plaintext).user == owner
    with pytest.raises(services.TokenRejected):
        services.token_authenticate(username="eve", secret=plaintext)


def test_it_rejects_a_password_where_a_token_is_expected(owner: Any) -> None:
    with pytest.raises(services.TokenRejected) as caught:
        services.token_authenticate(username="alice", secret="correct horse battery")
    assert "personal access token" in caught.value.reason


def test_it_rejects_a_tampered_token(owner: Any) -> None:
    plaintext = make_pat(owner)
    with pytest.raises(services.TokenRejected):
        services.token_authenticate(username="alice", secret=plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B"))


def test_it_rejects_expired_token_saying_so(owner: Any) -> None:
    new = services.token_create(
        user=owner, note="old", scopes=["read:packages"], expires_at=timezone.now() + timedelta(days=1)
    )
    PersonalAccessToken.objects.filter(id=new.token.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(services.TokenRejected) as caught:
        services.token_authenticate(username="alice", secret=new.plaintext)
    assert "expired" in caught.value.reason


def test_it_rejects_revoked_token_saying_so(owner: Any) -> None:
    new = services.token_create(user=owner, note="ci", scopes=["read:packages"], expires_at=None)
    services.token_revoke(user=owner, token_id=new.token.id)
    with pytest.raises(services.TokenRejected) as caught:
        services.token_authenticate(username="alice", secret=new.plaintext)
    assert "revoked" in caught.value.reason


def test_a_user_cannot_revoke_someone_elses_token(owner: Any, outsider: Any) -> None:
    new = services.token_create(user=owner, note="ci", scopes=["read:packages"], expires_at=None)
    with pytest.raises(PersonalAccessToken.DoesNotExist):
        services.token_revoke(user=outsider, token_id=new.token.id)
    assert PersonalAccessToken.objects.get(id=new.token.id).revoked_at is None


def test_it_records_the_last_use(owner: Any) -> None:
    plaintext = make_pat(owner)
    services.token_authenticate(username="alice", secret=plaintext)
    assert PersonalAccessToken.objects.get().last_used_at is not None


def test_it_refuses_an_expiry_in_the_past(owner: Any) -> None:
    with pytest.raises(ValidationError):
        services.token_create(
            user=owner, note="x", scopes=["read:packages"], expires_at=timezone.now() - timedelta(days=1)
        )
