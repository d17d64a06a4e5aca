from django.db import migrations
from django.utils import timezone

CREED = (
    "We listen first, and we believe you.\n"
    "One person owns your complaint from start to finish.\n"
    "We put it right, and then a little more.\n"
    "We keep every promise we make, or tell you before it is due.\n"
    "We learn from what you tell us, and we show you what changed."
)


def seed(apps, schema_editor):
    Creed = apps.get_model("staff", "Creed")
    if not Creed.objects.filter(pk=1).exists():
        Creed.objects.create(pk=1, text=CREED, updated_at=timezone.now())


class Migration(migrations.Migration):
    dependencies = [("staff", "0004_recognition_pulse_creed")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
