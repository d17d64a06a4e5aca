"""The database queue's worker: leased jobs claimed in batches and run in groups, one
transaction per group, the group's emails sent together; dead holders taken back at once."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings
from django_tasks import default_task_backend
from django_tasks_db.models import DBTaskResult

from cherish.core import leases, pipeline
from cherish.core.job_worker import JobWorker
from cherish.core.models import Job, JobStatus
from cherish.outbox.actions import delivering_here, queue_email
from cherish.outbox.models import DeliveryStatus, OutgoingEmail

CALLS: list[tuple[str, tuple]] = []
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
OK, FAILS, MAIL = (f"{__name__}.step_ok", f"{__name__}.step_fails", f"{__name__}.step_mail")
MAIL_THEN_FAIL = f"{__name__}.step_mail_then_fail"


def step_ok(*args: Any) -> None:
    CALLS.append(("ok", args))


def step_fails(*args: Any) -> None:
    CALLS.append(("fails", args))
    raise RuntimeError("mail server down")


def step_mail(n: int) -> None:
    with delivering_here(), transaction.atomic():
        queue_email(to=f"customer{n}@example.com", subject=f"Thanks {n}", text="We have it.")


def step_mail_then_fail(n: int) -> None:
    step_mail(n)
    raise RuntimeError("the step failed after writing its email")


@pytest.fixture(autouse=True)
def _clean() -> None:
    CALLS.clear()
    default_task_backend.clear()


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


@override_settings(TASKS=DB_TASKS)
def test_a_burst_runs_every_due_job_in_order_and_finishes_its_wake_ups(db: Any) -> None:
    # given five jobs of two steps, each with its wake-up in the database queue
    jobs = [pipeline.queue_steps([OK, OK], [n]) for n in range(5)]
    # when a worker drains the queue
    JobWorker(burst=True, interval=0).run()
    # then every step ran once, in order, and every job and wake-up is finished
    in_order = [("ok", (n,)) for n in range(5) for _ in range(2)]
    assert in_order == CALLS
    assert set(Job.objects.values_list("status", "attempts")) == {(JobStatus.DONE, 1)}
    wake_ups = DBTaskResult.objects.filter(id__in=[job.task_id for job in jobs])
    assert set(wake_ups.values_list("status", flat=True)) == {"SUCCESSFUL"}


@override_settings(TASKS=DB_TASKS)
def test_a_batch_of_jobs_gets_wake_ups_written_as_enqueue_writes_them(db: Any) -> None:
    # given one job queued alone (its wake-up written by django-tasks' enqueue) and three
    # queued as a batch (their wake-ups written with one INSERT)
    alone = pipeline.queue_steps([OK, OK], [0], key="k0")
    batch = pipeline.queue_many_steps([OK, OK], [([n], f"k{n}") for n in (1, 2, 3)])
    # then every wake-up row is the same but for its id, its time and its job
    rows = {str(row.pk): row for row in DBTaskResult.objects.all()}
    assert len(rows) == 4
    skip = {"id", "enqueued_at", "args_kwargs"}
    fields = [f.attname for f in DBTaskResult._meta.concrete_fields if f.attname not in skip]
    model = [getattr(rows[alone.task_id], name) for name in fields]
    for job in [alone, *batch]:
        row = rows[job.task_id]
        assert [getattr(row, name) for name in fields] == model
        assert row.args_kwargs == {"args": [str(job.pk)], "kwargs": {}}
        assert row.task_result.task.name == "run_steps_task"
    assert {rows[job.task_id].enqueued_at for job in batch} == {batch[0].created_at}
    # and the jobs are stored as queue_steps stores them
    stored = {job.key: job for job in Job.objects.all()}
    for job in batch:
        assert (stored[job.key].status, stored[job.key].steps) == (JobStatus.PENDING, [OK, OK])
        assert (stored[job.key].args, stored[job.key].task_id) == (job.args, job.task_id)
    # and a key already queued is not queued twice
    again = pipeline.queue_many_steps([OK, OK], [([1], "k1"), ([4], "k4")])
    assert again[0].pk == batch[0].pk
    assert Job.objects.count() == DBTaskResult.objects.count() == 5
    # when a worker drains the queue, then every job ran its steps once, in order
    JobWorker(burst=True, interval=0).run()
    assert sorted(CALLS) == sorted([("ok", (n,)) for n in range(5) for _ in range(2)])
    assert set(Job.objects.values_list("status", "attempts")) == {(JobStatus.DONE, 1)}
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}


@override_settings(TASKS=DB_TASKS)
def test_a_failing_step_fails_only_its_job_and_is_retried_from_that_step(db: Any) -> None:
    # given a job whose second step fails, between two that work
    first = pipeline.queue_steps([OK], [1])
    failing = pipeline.queue_steps([OK, FAILS], [2])
    last = pipeline.queue_steps([OK], [3])
    # when
    JobWorker(burst=True, interval=0).run()
    # then the others are done, and the failing one waits to retry from its failed step,
    # the first step's work kept
    for job in (first, failing, last):
        job.refresh_from_db()
    assert (first.status, last.status) == (JobStatus.DONE, JobStatus.DONE)
    assert (failing.status, failing.step, failing.attempts) == (JobStatus.PENDING, 1, 1)
    assert "RuntimeError: mail server down" in failing.last_error
    assert failing.due_at > first.finished_at
    assert CALLS == [("ok", (1,)), ("ok", (2,)), ("fails", (2,)), ("ok", (3,))]


def test_jobs_claimed_but_not_started_are_given_back_when_the_worker_stops(db: Any) -> None:
    # given a worker that claimed a batch
    pipeline.queue_steps([OK], [1])
    pipeline.queue_steps([OK], [2])
    worker = JobWorker(burst=True, interval=0)
    assert len(worker.claim()) == 2
    # when it stops before running them
    worker._release_unstarted()
    # then they are due again, the attempt not counted
    assert set(Job.objects.values_list("status", "attempts", "locked_until")) == {
        (JobStatus.PENDING, 0, None)
    }


@override_settings(TASKS=DB_TASKS)
def test_a_group_that_fails_as_a_whole_counts_an_attempt_for_each_job(
    db: Any, monkeypatch: Any
) -> None:
    # given two jobs, and a group whose own writes fail (as an error at commit would)
    first = pipeline.queue_steps([OK], [1])
    second = pipeline.queue_steps([OK], [2])

    def broken(self: Any, jobs: Any, at: Any) -> None:
        raise RuntimeError("deferred constraint violated")

    monkeypatch.setattr(JobWorker, "_wakeups_finished", broken)
    # when
    worker = JobWorker(burst=True, interval=0)
    assert worker.run_jobs() == 2
    # then nothing of the group was kept, and each job waits to try again, the attempt counted
    for job in (first, second):
        job.refresh_from_db()
        assert (job.status, job.attempts, job.step) == (JobStatus.PENDING, 1, 0)
        assert "deferred constraint violated" in job.last_error


def test_only_a_holder_of_this_machine_whose_process_is_gone_is_dead() -> None:
    host, token, _ = leases.worker_name().split(":")
    assert not leases.is_dead(leases.worker_name())
    assert leases.is_dead(f"{host}:{token}:{_dead_pid()}")
    # another machine (or container) with the same process id may well be running
    assert not leases.is_dead(f"elsewhere:{token}:{_dead_pid()}")
    assert not leases.is_dead(f"{host}:00000000:{_dead_pid()}")
    assert not leases.is_dead("host:1")


@override_settings(TASKS=DB_TASKS)
def test_jobs_of_a_dead_worker_are_taken_back_without_waiting_for_the_lease(db: Any) -> None:
    # given one job held by a stopped worker of this machine, one by a worker elsewhere,
    # both with their leases still running
    host, token, _ = leases.worker_name().split(":")
    dead = pipeline.queue_steps([OK], [1])
    elsewhere = pipeline.queue_steps([OK], [2])
    assert pipeline.claim_job(str(dead.pk), f"{host}:{token}:{_dead_pid()}") is not None
    assert pipeline.claim_job(str(elsewhere.pk), "elsewhere:abcdef01:4242") is not None
    DBTaskResult.objects.filter(pk=dead.task_id).update(status="RUNNING")
    # when a worker starts
    JobWorker(burst=True, interval=0).run()
    # then the dead worker's job is done at once, its old wake-up says why; the other waits
    dead.refresh_from_db()
    elsewhere.refresh_from_db()
    assert (dead.status, dead.attempts) == (JobStatus.DONE, 2)
    assert elsewhere.status == JobStatus.RUNNING
    assert CALLS == [("ok", (1,))]
    lost = DBTaskResult.objects.get(pk=dead.task_id)
    assert lost.exception_class_path == "cherish.core.pipeline.WorkerLost"


@override_settings(TASKS=DB_TASKS)
def test_the_groups_emails_are_sent_together_once_it_commits(
    transactional_db: Any, mail_sink: Any
) -> None:
    # given three jobs that each write an email; the middle one fails after writing it
    for n, step in ((1, MAIL), (2, MAIL_THEN_FAIL), (3, MAIL)):
        pipeline.queue_steps([step], [n])
    # when
    JobWorker(burst=True, interval=0).run()
    # then the two that worked were sent once each and recorded sent; the failed step's
    # email was rolled back with it and never sent
    sent = sorted(str(m["To"]) for m in mail_sink.messages())
    assert sent == ["customer1@example.com", "customer3@example.com"]
    rows = OutgoingEmail.objects.order_by("to_address")
    assert [(r.to_address, r.status, r.attempts) for r in rows] == [
        ("customer1@example.com", DeliveryStatus.SENT, 1),
        ("customer3@example.com", DeliveryStatus.SENT, 1),
    ]
