"""A real ``cherish worker`` killed in the middle of a complaint's follow-on job.

Before leases, the job stayed RUNNING for ever: triaged perhaps, never acknowledged. Now the
next worker of the machine takes it back as soon as it sees the holder's process gone (or
its lease runs out and the sweeper queues it again), a worker finishes it, and the customer gets
exactly one acknowledgement at a real SMTP server. On the database queue and on RQ (where the
process running the job is the worker's forked work-horse).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from django_tasks_db.models import DBTaskResult
from tests.core import processes
from tests.core.test_redis import REDIS_URL, _redis_or_skip

from cherish.cases.models import Direction, Message
from cherish.core.models import Job, JobStatus
from cherish.intake.actions import Contact, accept_contact
from cherish.outbox.models import DeliveryStatus, OutgoingEmail
from cherish.triage.models import TriageRecord

pytestmark = pytest.mark.slow

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
FOLLOW_ON = [
    "cherish.triage.tasks.triage_message_task",
    "tests.core.worker_steps.pause_once",
    "cherish.care.tasks.respond_to_contact_task",
]


@pytest.fixture(params=["db", "rq"])
def queue(request: Any, settings: Any) -> dict[str, str]:
    """The task backend, in this test and in the worker processes it starts."""
    if request.param == "db":
        settings.TASKS = DB_TASKS
        return {}
    client = _redis_or_skip()
    settings.RQ_QUEUES = {"default": {"URL": REDIS_URL}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    request.addfinalizer(client.flushdb)
    return {"TASK_BACKEND": "rq", "REDIS_URL": REDIS_URL}


@override_settings(CHERISH_INTAKE_FOLLOW_ON=FOLLOW_ON)
def test_a_killed_worker_job_is_finished_by_another_and_acknowledged_once(
    transactional_db: Any,
    agent: Any,
    mail_sink: Any,
    tmp_path: Path,
    queue: dict[str, str],
) -> None:
    # given a complaint whose follow-on job a real worker process is in the middle of
    env = processes.cherish_env(
        tmp_path,
        EMAIL_URL=mail_sink.url,
        TASK_LEASE_S="2",
        TEST_PAUSE_DIR=str(tmp_path),
        **queue,
    )
    case = accept_contact(
        Contact(
            channel="web",
            text="The oven you sold me caught fire on the second day. I want a refund.",
            name="Nora Quinn",
            email="nora@example.com",
        )
    ).case
    job = Job.objects.get()
    first_worker = processes.start(["worker", "--interval", "0.1"], env, tmp_path / "w1.log")
    pid = int(
        processes.wait_for(
            lambda: (tmp_path / "paused").exists() and (tmp_path / "paused").read_text(),
            timeout=90,
            what="the worker to reach the paused step",
        )
    )

    # when the process running the job is killed outright (the worker itself on the
    # database queue, its work-horse on RQ)
    os.kill(pid, signal.SIGKILL)
    if pid == first_worker.pid:
        first_worker.wait(timeout=10)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
    # The database queue's worker runs a group of jobs in one transaction, so the killed
    # attempt left nothing half-done; on RQ each step committed on its own.
    triaged_before = 0 if not queue else 1
    assert TriageRecord.objects.filter(message__case=case).count() == triaged_before
    assert not Message.objects.filter(case=case, direction=Direction.OUTBOUND).exists()

    # then the sweeper hands the job on once its lease lapses, and a new worker finishes it
    second_worker = processes.start(["worker", "--interval", "0.1"], env, tmp_path / "w2.log")
    try:
        processes.wait_for(
            lambda: (
                processes.run(["sweep_jobs", "-v", "0"], env) is not None
                and Job.objects.filter(pk=job.pk, status=JobStatus.DONE).exists()
            ),
            timeout=120,
            every=1,
            what="the job to be finished by the second worker",
        )
        processes.wait_for(
            lambda: OutgoingEmail.objects.filter(
                case_pk=case.pk, status=DeliveryStatus.SENT
            ).exists(),
            timeout=60,
            what="the acknowledgement to be delivered",
        )
    finally:
        assert processes.stop(second_worker) == 0
        processes.stop(first_worker)

    job.refresh_from_db()
    assert job.attempts == 2
    assert TriageRecord.objects.filter(message__case=case).count() == 1
    (ack,) = Message.objects.filter(case=case, direction=Direction.OUTBOUND, is_automatic=True)
    (email,) = OutgoingEmail.objects.filter(case_pk=case.pk)
    received = [m for m in mail_sink.messages() if m["Message-ID"] == email.message_id]
    assert len(received) == 1
    assert received[0]["To"] == "nora@example.com"
    assert ack.case_id == case.pk
    assert "not callable" not in (tmp_path / "w2.log").read_text()
    if not queue:
        rows = DBTaskResult.objects.all()
        dead = [r for r in rows if r.exception_class_path.endswith("WorkerLost")]
        assert len(dead) == 1 and dead[0].args_kwargs["args"] == [str(job.pk)]
