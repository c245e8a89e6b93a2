"""Deleting a webhook, a tag rule or a trusted CI issuer on the pages is a destructive action like the
others (``ui/confirm.py``): a POST without ``confirm=yes`` changes nothing and answers the
confirmation page, whose form repeats the request with ``confirm=yes``; with it, the thing goes."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Model
from django.test import Client

from accounts.models import Organization
from federation.models import TrustedIssuer
from packages_app.models import TagRule
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db


def _hook(owner: Any) -> tuple[Model, str]:
    hook = Webhook.objects.create(namespace="acme", url="https://hooks.example/in", events=["package.published"])
    return hook, f"/orgs/acme/hooks/{hook.id}/delete"


def _rule(owner: Any) -> tuple[Model, str]:
    rule = TagRule.objects.create(namespace="acme", pattern="v*", kind="immutable")
    return rule, f"/orgs/acme/tag-rules/{rule.id}/delete"


def _issuer(owner: Any) -> tuple[Model, str]:
    issuer = TrustedIssuer.objects.create(
        organization=Organization.objects.get(name="acme"),
        name="actions",
        issuer="https://token.actions.example",
        audience="wharf",
        rule='repository == "acme/api"',
        packages=["acme/api"],
    )
    return issuer, f"/orgs/acme/ci-issuers/{issuer.id}/delete"


@pytest.mark.parametrize("make", [_hook, _rule, _issuer], ids=["webhook", "tag rule", "trusted issuer"])
def test_a_delete_without_confirm_yes_asks_first_and_with_it_deletes(owner: Any, client: Client, make: Any) -> None:
    thing, url = make(owner)
    client.force_login(owner)
    asked = client.post(url)
    assert asked.status_code == 200
    page = asked.content.decode()
    assert f'action="{url}"' in page
    assert 'name="confirm" value="yes"' in page
    assert type(thing).objects.filter(pk=thing.pk).exists()  # nothing changed yet
    done = client.post(url, {"confirm": "yes"})
    assert done.status_code == 302
    assert not type(thing).objects.filter(pk=thing.pk).exists()


@pytest.mark.parametrize("make", [_hook, _rule, _issuer], ids=["webhook", "tag rule", "trusted issuer"])
def test_a_member_gets_no_confirm_page_and_deletes_nothing(owner: Any, member: Any, client: Client, make: Any) -> None:
    thing, url = make(owner)
    client.force_login(member)
    assert client.post(url).status_code == 403
    assert client.post(url, {"confirm": "yes"}).status_code == 403
    assert type(thing).objects.filter(pk=thing.pk).exists()
