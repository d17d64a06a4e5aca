"""One notification system: care's old notification rows become desk notifications.

Care used to write its own ``care.Notification`` rows (free text, no event) beside the desk's
notifications derived from case events. Every care notification was written together with a
case event, so each old row is matched to that event (same case, the event type of its kind,
naming the same person, within a minute) and kept as a desk notification, read or unread as
it was. Rows without a case or a matching event were about nothing the desk can show and are
left behind; care's table is dropped by care 0005.
"""

import datetime as dt

from django.db import migrations, models

# Care's kind -> (desk kind, event types, the data keys naming the person told).
KINDS = {
    "commitment_due": ("commitment_due", ("commitment.due_soon",), ("owner_id",)),
    "commitment_overdue": ("commitment_overdue", ("commitment.overdue",), ("notified_id",)),
    "commitment_escalated": ("commitment_overdue", ("commitment.escalated",), ("lead_id",)),
    "target_warning": ("target_warning", ("care.target_warning",), ("notified_id",)),
    "target_breached": ("target_breached", ("care.target_breached",), ("lead_id",)),
    "gesture_approval": ("approval_waiting", ("gesture.requested",), ("approver_id",)),
    "gesture_decided": (
        "gesture_decided",
        ("gesture.approved", "gesture.declined"),
        ("requested_by_id",),
    ),
    "collaborator": ("asked_to_help", ("collaborator.added",), ("staff_id",)),
    "mention": ("mentioned", ("staff.mentioned",), ()),
}
WINDOW = dt.timedelta(minutes=1)


def _names(event, keys, staff_id):
    if not keys:  # a mention names a list of people
        return staff_id in (event.data or {}).get("staff_ids", [])
    # A breach without a lead told the owner; the event named nobody.
    return any((event.data or {}).get(key) in (staff_id, None) for key in keys)


def fold(apps, schema_editor):
    Old = apps.get_model("care", "Notification")
    New = apps.get_model("desk", "Notification")
    CaseEvent = apps.get_model("cases", "CaseEvent")
    for row in Old.objects.filter(case__isnull=False).order_by("id").iterator():
        kind = KINDS.get(row.kind)
        if kind is None:
            continue
        desk_kind, types, keys = kind
        candidates = [
            event
            for event in CaseEvent.objects.filter(
                case_id=row.case_id,
                type__in=types,
                created_at__gte=row.created_at - WINDOW,
                created_at__lte=row.created_at + WINDOW,
            )
            if _names(event, keys, row.staff_id)
        ]
        if not candidates:
            continue
        event = min(candidates, key=lambda e: abs(e.created_at - row.created_at))
        New.objects.get_or_create(
            staff_id=row.staff_id,
            event_id=event.pk,
            defaults={
                "case_id": row.case_id,
                "kind": desk_kind,
                "created_at": row.created_at,
                "read_at": row.read_at,
            },
        )


class Migration(migrations.Migration):
    dependencies = [
        ("desk", "0002_saved_view"),
        ("care", "0004_snippet_macro_actions"),
        ("cases", "0008_case_inbox_view_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="notification",
            name="kind",
            field=models.CharField(
                choices=[
                    ("customer_replied", "Customer replied"),
                    ("assigned", "Case assigned to you"),
                    ("handed_over", "Case handed to you"),
                    ("asked_to_help", "Asked to help"),
                    ("mentioned", "Mentioned"),
                    ("approval_waiting", "Approval waiting"),
                    ("gesture_decided", "Your gesture was decided"),
                    ("commitment_due", "Promise due soon"),
                    ("commitment_overdue", "Promise overdue"),
                    ("target_warning", "Target about to breach"),
                    ("target_breached", "Target breached"),
                ],
                max_length=24,
            ),
        ),
        migrations.RunPython(fold, migrations.RunPython.noop, elidable=True),
    ]
