"""Keys made before keys carried an owner were integration keys that could do everything an
integration can: give them every integration scope, so a running web shop keeps working.
Actions in a person's name now need a staff member's key (staff/principal.py)."""

from django.db import migrations

ALL_SCOPES = [
    "cases:create",
    "cases:read",
    "cases:write",
    "customers:read",
    "customers:write",
    "transactions:read",
    "transactions:write",
    "feedback:read",
]


def grant(apps, schema_editor):
    ApiKey = apps.get_model("intake", "ApiKey")
    for key in ApiKey.objects.filter(staff__isnull=True):
        if not key.scopes:
            key.scopes = ALL_SCOPES
            key.save(update_fields=["scopes"])


class Migration(migrations.Migration):
    dependencies = [("intake", "0003_apikey_staff_scopes")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
