# Source repositories and collaborators move here from packages_app (issue 10) without touching their
# tables: the models are created in this app's state only, on the tables packages_app made
# (packages_app 0006), and packages_app 0013 drops them from its own state. Foreign keys to them in
# other apps are repointed state-only too (packages_app 0013, tokens_app 0006, federation 0002).
# The two content types are relabelled so permissions and admin log entries that name them follow.

from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MODELS = ("sourcerepository", "repositorycollaborator")


def _relabel(apps: Any, schema_editor: Any, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    rows = ContentType.objects.using(schema_editor.connection.alias)
    for model in MODELS:
        if not rows.filter(app_label=new, model=model).exists():
            rows.filter(app_label=old, model=model).update(app_label=new)


def _id() -> models.BigAutoField:
    return models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")


def forwards(apps: Any, schema_editor: Any) -> None:
    _relabel(apps, schema_editor, "packages_app", "repositories")


def backwards(apps: Any, schema_editor: Any) -> None:
    _relabel(apps, schema_editor, "repositories", "packages_app")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("packages_app", "0012_storage_quota"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="SourceRepository",
                    fields=[
                        ("id", _id()),
                        ("owner", models.CharField(db_index=True, max_length=39)),
                        ("name", models.CharField(max_length=100)),
                        ("description", models.CharField(blank=True, default="", max_length=255)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "created_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "packages_app_sourcerepository",
                        "constraints": [
                            models.UniqueConstraint(fields=("owner", "name"), name="repository_unique_name")
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="RepositoryCollaborator",
                    fields=[
                        ("id", _id()),
                        ("role", models.IntegerField(choices=[(1, "Read"), (2, "Write"), (3, "Admin")])),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "repository",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="collaborators",
                                to="repositories.sourcerepository",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "packages_app_repositorycollaborator",
                        "constraints": [
                            models.UniqueConstraint(fields=("repository", "user"), name="collaborator_unique_user")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards),
    ]
