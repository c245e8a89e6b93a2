"""Moving SourceRepository and RepositoryCollaborator from packages_app to repositories (issue 10) keeps
every row: a database migrated before the move, holding a repository, a collaborator, a linked package,
an automation token and a CI issuer bound to the repository, is migrated past it and read through the
new models. The move is state only: the tables keep their names and no row is copied."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from federation.models import TrustedIssuer
from packages_app.models import Package, Role
from repositories.models import RepositoryCollaborator, SourceRepository
from tokens_app.models import AutomationToken

# The last migration of each app touched by the move, before it (repositories did not exist).
BEFORE = [
    ("packages_app", "0012_storage_quota"),
    ("tokens_app", "0005_signing_key_generate"),
    ("federation", "0001_initial"),
    ("repositories", None),
]
# What the database's apps looked like then (the content types as every Django project's are).
BEFORE_STATE = [(app, name) for app, name in BEFORE if name is not None]
BEFORE_STATE.append(("contenttypes", "0002_remove_content_type_name"))
MOVED = ("sourcerepository", "repositorycollaborator")


def _executor() -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor


@pytest.fixture
def before_the_move() -> Iterator[Any]:
    """The apps of a database migrated to just before the move; afterwards it is migrated to the end again
    whatever the test did."""
    executor = _executor()
    executor.migrate(BEFORE)
    try:
        yield _executor().loader.project_state(BEFORE_STATE).apps
    finally:
        executor = _executor()
        executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_rows_written_before_the_move_are_read_through_the_new_models(before_the_move: Any) -> None:
    old = before_the_move
    assert old.get_model("packages_app", "SourceRepository")._meta.db_table == "packages_app_sourcerepository"
    User = old.get_model(*settings.AUTH_USER_MODEL.split("."))
    alice = User.objects.create(username="alice", email="alice@example.com")
    bob = User.objects.create(username="bob", email="bob@example.com")
    old_repository = old.get_model("packages_app", "SourceRepository").objects.create(
        owner="alice", name="api", description="The API", created_by=alice
    )
    old.get_model("packages_app", "RepositoryCollaborator").objects.create(
        repository=old_repository, user=bob, role=Role.WRITE
    )
    old.get_model("packages_app", "Package").objects.create(
        name="alice/api", namespace="alice", repository=old_repository
    )
    old.get_model("tokens_app", "AutomationToken").objects.create(
        repository=old_repository,
        prefix="abcdefghijkl",
        digest="0" * 64,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    organization = old.get_model("accounts", "Organization").objects.create(name="acme")
    old.get_model("federation", "TrustedIssuer").objects.create(
        organization=organization,
        name="ci",
        issuer="https://ci.example.com",
        audience="wharf",
        rule="true",
        repository=old_repository,
    )
    ContentType = old.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="repositories").delete()  # as on a database that never had the app
    old_types = {
        model: ContentType.objects.get_or_create(app_label="packages_app", model=model)[0].id for model in MOVED
    }

    executor = _executor()
    executor.migrate(executor.loader.graph.leaf_nodes())

    new = _executor().loader.project_state(executor.loader.graph.leaf_nodes()).apps
    assert new.get_model("repositories", "SourceRepository")._meta.db_table == "packages_app_sourcerepository"
    with pytest.raises(LookupError):
        new.get_model("packages_app", "SourceRepository")
    repository = SourceRepository.objects.get(owner="alice", name="api")
    assert repository.id == old_repository.id
    assert (repository.full_name, repository.description, repository.created_by_id) == (
        "alice/api",
        "The API",
        alice.id,
    )
    collaborator = RepositoryCollaborator.objects.get(repository=repository)
    assert (collaborator.user.username, collaborator.role) == ("bob", Role.WRITE)
    assert [p.name for p in repository.packages.all()] == ["alice/api"]
    assert Package.objects.get(name="alice/api").repository == repository
    assert AutomationToken.objects.get(prefix="abcdefghijkl").repository == repository
    assert TrustedIssuer.objects.get(name="ci").repository == repository
    ContentType = new.get_model("contenttypes", "ContentType")
    for model in MOVED:  # permissions and admin log entries that name them follow
        assert ContentType.objects.get(app_label="repositories", model=model).id == old_types[model]
