"""Drop the single-column indexes Django gives every foreign key where a composite index
leads with the same column (case_customer, case_mine, case_team, message_case_time,
event_case_time, event_customer_time). Each new case wrote all of them in the intake batch
(issue #14: the owner's alone was 8 of the 106 pages a batch of four complaints wrote).

Plain DROP INDEX, not AlterField: on SQLite AlterField copies the whole table."""

import django.db.models.deletion
from django.db import migrations, models

DROPPED = [
    ("cases_case_customer_id_3e0cf925", "cases_case", "customer_id"),
    ("cases_case_owner_id_352cf2f7", "cases_case", "owner_id"),
    ("cases_case_team_id_60679476", "cases_case", "team_id"),
    ("cases_message_case_id_544aca6d", "cases_message", "case_id"),
    ("cases_caseevent_case_id_6c6031ac", "cases_caseevent", "case_id"),
    ("cases_caseevent_customer_id_f8eb3711", "cases_caseevent", "customer_id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0011_case_updated_index"),
        ("customers", "0007_month_day_keys"),
        ("staff", "0006_inbox_sort_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"',
                    f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")',
                )
                for name, table, column in DROPPED
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="case",
                    name="customer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cases",
                        to="customers.customer",
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="owner",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="cases",
                        to="staff.staff",
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="team",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="cases",
                        to="staff.team",
                    ),
                ),
                migrations.AlterField(
                    model_name="caseevent",
                    name="case",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="cases.case",
                    ),
                ),
                migrations.AlterField(
                    model_name="caseevent",
                    name="customer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="case_events",
                        to="customers.customer",
                    ),
                ),
                migrations.AlterField(
                    model_name="message",
                    name="case",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="messages",
                        to="cases.case",
                    ),
                ),
            ],
        ),
    ]
