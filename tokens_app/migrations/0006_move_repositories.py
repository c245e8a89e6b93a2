# AutomationToken.repository names the repositories app's model (issue 10); same table, so state only.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tokens_app", "0005_signing_key_generate"),
        ("repositories", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="automationtoken",
                    name="repository",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="automation_tokens",
                        to="repositories.sourcerepository",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
