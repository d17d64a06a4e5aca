"""Fill UsualContact.since_md for the rows stored before it existed, so "mine" on the moments
page does not wait for the hourly refresh after an upgrade. One UPDATE (about 200,000 rows at
1M cases): a row-by-row loop in Python would take minutes."""

from django.db import migrations


def fill(apps, schema_editor):
    UsualContact = apps.get_model("outreach", "UsualContact")
    Customer = apps.get_model("customers", "Customer")
    contact, customer = UsualContact._meta.db_table, Customer._meta.db_table
    schema_editor.execute(
        f"UPDATE {contact} SET since_md = "
        f"(SELECT c.since_md FROM {customer} c WHERE c.id = {contact}.customer_id)"
    )


class Migration(migrations.Migration):
    dependencies = [("outreach", "0003_usual_contact_since_md")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop, elidable=True)]
