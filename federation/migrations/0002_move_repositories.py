# TrustedIssuer.repository names the repositories app's model (issue 10); same table, so state only.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("federation", "0001_initial"),
        ("repositories", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="trustedissuer",
                    name="repository",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="repositories.sourcerepository",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
