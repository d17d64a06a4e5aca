from django.db import migrations

# The six categories of the source articles, one starting entry each; organisations add
# their own under each category in the admin.
SEED = [
    ("People: knowledge, skill or behaviour", "people", "Someone did not know, could not, or chose not to."),
    ("Process: a step that fails or is missing", "process", "The way the work is done let the customer down."),
    ("Product: a fault in what we sell", "product", "The product or service itself was faulty or unsuitable."),
    ("Policy: a rule that causes pain", "policy", "A rule worked as written and still hurt the customer."),
    ("Communication: wrong, missing or unclear", "communication", "What we told the customer (website, letter, invoice) was wrong or missing."),
    ("Partner: a supplier or carrier", "partner", "A partner acting for us caused the problem."),
]


def seed(apps, schema_editor):
    RootCause = apps.get_model("learning", "RootCause")
    for name, category, description in SEED:
        RootCause.objects.get_or_create(
            name=name, defaults={"category": category, "description": description}
        )


def unseed(apps, schema_editor):
    RootCause = apps.get_model("learning", "RootCause")
    RootCause.objects.filter(name__in=[name for name, _, _ in SEED], findings=None).delete()


class Migration(migrations.Migration):
    dependencies = [("learning", "0001_themes_root_causes_findings")]

    operations = [migrations.RunPython(seed, unseed)]
