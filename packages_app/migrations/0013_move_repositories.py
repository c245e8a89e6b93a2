# Source repositories and collaborators now live in the repositories app (issue 10). State only: the
# tables stay as they are (repositories 0001 adopted them). Package.repository is repointed first,
# then the models leave this app's state; the other apps' foreign keys were repointed by the
# migrations this one depends on, so no state ever names a model that is gone.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("packages_app", "0012_storage_quota"),
        ("repositories", "0001_initial"),
        ("tokens_app", "0006_move_repositories"),
        ("federation", "0002_move_repositories"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="package",
                    name="repository",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="packages",
                        to="repositories.sourcerepository",
                    ),
                ),
                migrations.DeleteModel(name="RepositoryCollaborator"),
                migrations.DeleteModel(name="SourceRepository"),
            ],
            database_operations=[],
        ),
    ]
