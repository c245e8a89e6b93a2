# The installation's first ES256 signing key, made when the database is migrated (so no request ever
# writes one). Reversing keeps the key: it is only data, and tokens signed with it may be in use.

from typing import Any

from django.db import migrations

from tokens_app.registry_tokens import generated_key


def generate(apps: Any, schema_editor: Any) -> None:
    SigningKey = apps.get_model("tokens_app", "SigningKey")
    if not SigningKey.objects.exclude(private_key="").filter(retired_at__isnull=True).exists():
        SigningKey.objects.create(**generated_key())


class Migration(migrations.Migration):
    dependencies = [("tokens_app", "0004_signing_key_es256")]

    operations = [migrations.RunPython(generate, migrations.RunPython.noop)]
