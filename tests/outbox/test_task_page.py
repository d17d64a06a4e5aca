"""A background task that keeps failing is visible in the desk with its error."""

from __future__ import annotations

from django.core.management import call_command
from tests.conftest import login

from cherish.core.models import Job
from cherish.core.pipeline import MAX_ATTEMPTS, queue_steps


def step_that_fails(*args):
    raise RuntimeError("triage model file is missing")


def test_failed_task_is_listed_with_its_error(transactional_db, settings, client, manager):
    # given: the real database task backend and a step that fails for the last time
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    job = queue_steps([f"{__name__}.step_that_fails"], [42, True])
    Job.objects.filter(pk=job.pk).update(attempts=MAX_ATTEMPTS - 1)
    # when: a worker runs it
    call_command("db_worker", batch=True, startup_delay=False, verbosity=0)
    page = login(client, manager).get("/desk/outbox/").content.decode()
    # then
    assert "Background tasks that failed (1)" in page
    assert "step_that_fails" in page
    assert "RuntimeError: triage model file is missing" in page


def test_no_failed_tasks_says_so(client, manager):
    page = login(client, manager).get("/desk/outbox/").content.decode()
    assert "None: every background task finished." in page


def test_agents_do_not_read_every_teams_outgoing_mail(desk_client):
    # the outbox shows addresses and subjects of every team's customers
    assert desk_client.get("/desk/outbox/").status_code == 403
