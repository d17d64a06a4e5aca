"""Care's own notifications are gone: the desk's notifications (derived from the case events
care writes) are the one system; desk 0003 moved the old rows over first."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("care", "0004_snippet_macro_actions"),
        ("desk", "0003_fold_care_notifications"),
    ]

    operations = [
        migrations.DeleteModel(name="Notification"),
    ]
