"""With the database task backend the follow-on job and its task row are written in the
intake's own transaction: they exist exactly when the case does."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from cherish.cases.models import Case
from cherish.core.models import Job
from cherish.intake.actions import Contact, accept_contact

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def _contact() -> Contact:
    return Contact(channel="web", text="The lid was smashed.", name="Ann", email="ann@example.com")


@override_settings(TASKS=DB_TASKS)
def test_intake_writes_its_follow_on_task_row_with_the_case(agent: Any) -> None:
    # given the database task backend
    # when a contact is received
    result = accept_contact(_contact())

    # then one follow-on job names the new message, and one task row wakes a worker for it
    job = Job.objects.get()
    assert job.args == [result.message.pk, True]
    assert job.key == f"follow-on:{result.message.pk}"
    row = DBTaskResult.objects.get()
    assert row.task_path == "cherish.core.pipeline.run_steps_task"
    assert row.args_kwargs["args"] == [str(job.pk)]
    assert str(row.pk) == job.task_id


@override_settings(TASKS=DB_TASKS)
def test_a_rolled_back_intake_leaves_no_task_row(agent: Any) -> None:
    # given the database task backend and an intake inside a transaction that fails later
    class Later(Exception):
        pass

    # when the surrounding transaction rolls back
    with pytest.raises(Later), transaction.atomic():
        accept_contact(_contact())
        raise Later

    # then neither the case nor its job nor its task row exists
    assert not Case.objects.exists()
    assert not Job.objects.exists()
    assert not DBTaskResult.objects.exists()
