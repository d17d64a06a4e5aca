"""Care's old notification rows become desk notifications (desk 0003, care 0005)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from cherish.care import actions as care_actions
from cherish.desk.models import Notification

BEFORE = [("care", "0004_snippet_macro_actions"), ("desk", "0002_saved_view")]
AFTER = [("care", "0005_remove_notification"), ("desk", "0003_fold_care_notifications")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_old_care_notifications_are_kept_as_desk_notifications(
    transactional_db, complaint, agent, lead, refund, agent_limits
):
    # given: a gesture the lead must approve and a mention, as care recorded them before
    gesture = care_actions.grant_gesture(
        complaint, gesture_type=refund, value=Decimal("60"), currency="GBP", by=agent
    )
    care_actions.add_note_with_mentions(complaint, text="@lena please look", by=agent)
    requested = complaint.events.get(type="gesture.requested")
    mentioned = complaint.events.get(type="staff.mentioned")
    old_apps = _migrate(BEFORE)
    Old = old_apps.get_model("care", "Notification")
    Old.objects.create(
        staff_id=lead.pk,
        case_id=complaint.pk,
        kind="gesture_approval",
        text="Alice Agent asks you to approve a refund",
        created_at=requested.created_at + dt.timedelta(milliseconds=3),
        read_at=requested.created_at + dt.timedelta(minutes=5),
    )
    Old.objects.create(
        staff_id=lead.pk,
        case_id=complaint.pk,
        kind="mention",
        text="Alice Agent mentioned you",
        created_at=mentioned.created_at,
    )
    Old.objects.create(  # about no case: nothing the desk can show
        staff_id=lead.pk, case_id=None, kind="mention", text="?", created_at=mentioned.created_at
    )
    # when
    _migrate(AFTER)
    # then: one desk notification per old row with a case, pointing at its event
    rows = Notification.objects.filter(staff=lead).order_by("event_id")
    assert [(n.kind, n.event_id, n.read_at is not None) for n in rows] == [
        ("approval_waiting", requested.pk, True),
        ("mentioned", mentioned.pk, False),
    ]
    assert gesture.pk
