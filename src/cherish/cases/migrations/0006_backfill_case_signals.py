"""Seed Case.signals from the badges triage had already set, so raised flags keep a source.

Before 0004 a case only had badges (recomputed from its newest message); the flags among them
become raised signals "from triage before case-level signals". Batched by id range so it runs
on large tables without holding every row in memory.
"""

from django.db import migrations

FLAGS = ("urgent", "angry", "safety", "vulnerable", "legal", "leaving", "public")
BATCH = 2000


def seed(apps, schema_editor):
    Case = apps.get_model("cases", "Case")
    last = 0
    while True:
        rows = list(
            Case.objects.filter(pk__gt=last, at_risk=True)
            .order_by("pk")
            .values_list("pk", "badges", "signals", "updated_at")[:BATCH]
        )
        if not rows:
            break
        last = rows[-1][0]
        for pk, badges, signals, updated_at in rows:
            raised = [b for b in (badges or []) if b in FLAGS]
            if not raised or (signals or {}).get("flags"):
                continue
            signals = dict(signals or {})
            signals["flags"] = {
                flag: {"at": updated_at.isoformat(), "source": "legacy"} for flag in raised
            }
            Case.objects.filter(pk=pk).update(signals=signals)


class Migration(migrations.Migration):
    dependencies = [("cases", "0005_case_signals")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
