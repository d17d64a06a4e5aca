"""A background task that keeps failing is visible in the desk with its error."""

from __future__ import annotations

from django.core.management import call_command

from cherish.core.models import Job
from cherish.core.pipeline import MAX_ATTEMPTS, queue_steps


def step_that_fails(*args):
    raise RuntimeError("triage model file is missing")


def test_failed_task_is_listed_with_its_error(transactional_db, settings, desk_client):
    # given: the real database task backend and a step that fails for the last time
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    job = queue_steps([f"{__name__}.step_that_fails"], [42, True])
    Job.objects.filter(pk=job.pk).update(attempts=MAX_ATTEMPTS - 1)
    # when: a worker runs it
    call_command("db_worker", batch=True, startup_delay=False, verbosity=0)
    page = desk_client.get("/desk/outbox/").content.decode()
    # then
    assert "Background tasks that failed (1)" in page
    assert "step_that_fails" in page
    assert "RuntimeError: triage model file is missing" in page


def test_no_failed_tasks_says_so(desk_client):
    page = desk_client.get("/desk/outbox/").content.decode()
    assert "None: every background task finished." in page
