"""Leased jobs: steps in order, retries from the failed step, re-runs when a worker is lost."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import time_machine
from django.test import override_settings
from django_tasks import default_task_backend
from django_tasks_db.models import DBTaskResult

from cherish.core import pipeline
from cherish.core.clock import now
from cherish.core.models import Job, JobStatus

CALLS: list[tuple[str, tuple]] = []
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
OK, FAILS, SLOW = (f"{__name__}.step_ok", f"{__name__}.step_fails", f"{__name__}.step_slow")
FLAKY = f"{__name__}.step_fails_once"


def step_ok(*args):
    CALLS.append(("ok", args))


def step_fails(*args):
    CALLS.append(("fails", args))
    raise RuntimeError("mail server down")


def step_fails_once(*args):
    CALLS.append(("flaky", args))
    if len([c for c in CALLS if c[0] == "flaky"]) == 1:
        raise RuntimeError("mail server down")


def step_slow(*args):
    CALLS.append(("slow", args))
    time.sleep(2.5)


@pytest.fixture(autouse=True)
def _clean() -> None:
    CALLS.clear()
    default_task_backend.clear()


def _queued_job_ids() -> list[str]:
    return [r.args[0] for r in default_task_backend.results if r.task.name == "run_steps_task"]


def test_queue_steps_wakes_a_worker_after_commit(db, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        job = pipeline.queue_steps([OK], [7, True])
    # then
    job.refresh_from_db()
    assert (job.status, job.steps, job.args) == (JobStatus.PENDING, [OK], [7, True])
    assert _queued_job_ids() == [str(job.pk)]
    assert job.task_id == default_task_backend.results[0].id


def test_a_key_used_twice_queues_one_job(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = pipeline.queue_steps([OK], [1], key="follow-on:1")
        second = pipeline.queue_steps([OK], [1], key="follow-on:1")
    assert first.pk == second.pk
    assert Job.objects.count() == 1
    assert len(_queued_job_ids()) == 1


def test_steps_run_in_order_once_and_a_second_run_does_nothing(db):
    # given
    job = pipeline.queue_steps([OK, OK], [7, True])
    # when
    first = pipeline.run_steps_task.call(str(job.pk))
    second = pipeline.run_steps_task.call(str(job.pk))
    # then
    assert (first, second) == ("done", "skipped")
    assert CALLS == [("ok", (7, True)), ("ok", (7, True))]
    job.refresh_from_db()
    assert (job.status, job.attempts, job.locked_until) == (JobStatus.DONE, 1, None)


def test_a_failed_step_is_retried_later_from_that_step(db, django_capture_on_commit_callbacks):
    # given
    job = pipeline.queue_steps([OK, FLAKY, OK], [7, True])
    default_task_backend.clear()
    # when
    outcome = pipeline.run_steps_task.call(str(job.pk))
    # then: the job waits, and its wake-up is due when the job is
    job.refresh_from_db()
    assert outcome == "retrying"
    assert CALLS == [("ok", (7, True)), ("flaky", (7, True))]
    assert (job.status, job.step, job.attempts) == (JobStatus.PENDING, 1, 1)
    assert "RuntimeError: mail server down" in job.last_error
    (retry,) = default_task_backend.results
    assert retry.args == [str(job.pk)]
    assert retry.task.run_after == job.due_at
    # and a wake-up before it is due does nothing
    assert pipeline.run_steps_task.call(str(job.pk)) == "skipped"
    # when the retry comes and the step now works, only the steps from the failed one run
    CALLS.clear()
    CALLS.append(("flaky", ()))
    with time_machine.travel(job.due_at + dt.timedelta(seconds=1)):
        assert pipeline.run_steps_task.call(str(job.pk)) == "done"
    assert CALLS[1:] == [("flaky", (7, True)), ("ok", (7, True))]


def test_a_step_that_keeps_failing_fails_the_job_with_its_error(db):
    # given
    job = pipeline.queue_steps([FAILS], [3])
    # when every attempt fails
    at = now()
    for _ in range(pipeline.MAX_ATTEMPTS):
        with time_machine.travel(at):
            pipeline.run_steps_task.call(str(job.pk))
        job.refresh_from_db()
        at = job.due_at + dt.timedelta(seconds=1)
    # then
    assert job.status == JobStatus.FAILED
    assert job.attempts == pipeline.MAX_ATTEMPTS
    assert job.last_error.startswith(f"attempt {pipeline.MAX_ATTEMPTS}, step {FAILS}")
    assert len(CALLS) == pipeline.MAX_ATTEMPTS


def test_a_held_lease_refuses_a_second_worker_and_a_lapsed_one_hands_over(db):
    # given a job claimed by a worker that then vanished
    job = pipeline.queue_steps([OK], [1])
    assert pipeline.claim_job(str(job.pk), "host:1") is not None
    # then while the lease holds, nobody else takes it
    assert pipeline.claim_job(str(job.pk), "host:2") is None
    # when the lease runs out, another worker takes it over and runs it
    job.refresh_from_db()
    with time_machine.travel(job.locked_until + dt.timedelta(seconds=1)):
        assert pipeline.run_steps_task.call(str(job.pk)) == "done"
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.DONE, 2)
    assert CALLS == [("ok", (1,))]


def test_a_job_that_keeps_killing_its_worker_is_given_up(db):
    job = pipeline.queue_steps([OK], [1])
    at = now()
    for n in range(pipeline.MAX_ATTEMPTS):
        with time_machine.travel(at):
            assert pipeline.claim_job(str(job.pk), f"host:{n}") is not None
        at += dt.timedelta(seconds=pipeline.lease_seconds() + 1)
    with time_machine.travel(at):
        assert pipeline.claim_job(str(job.pk), "host:last") is None
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.last_error.startswith(f"gave up: its worker was lost {pipeline.MAX_ATTEMPTS} times")
    assert CALLS == []


@override_settings(CHERISH_TASK_LEASE_S=1)
def test_a_long_step_keeps_its_lease_alive(transactional_db):
    # given a step that runs longer than the lease (the heartbeat renews it)
    job = pipeline.queue_steps([SLOW], [1])
    # when it runs
    assert pipeline.run_steps_task.call(str(job.pk)) == "done"
    # then no second worker could have claimed it meanwhile: the lease was still ahead
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.DONE, 1)


@override_settings(CHERISH_TASK_LEASE_S=1)
def test_the_heartbeat_moves_the_lease_while_a_step_runs(transactional_db):
    # given
    job = pipeline.queue_steps([OK], [1])
    claimed = pipeline.claim_job(str(job.pk), "host:9")
    assert claimed is not None
    first = claimed.locked_until
    # when
    with pipeline.KeepAlive(Job, job.pk, holder={"worker": "host:9"}):
        time.sleep(1.2)
    # then
    job.refresh_from_db()
    assert job.locked_until > first


@override_settings(TASKS=DB_TASKS)
def test_sweep_requeues_a_job_whose_worker_died_and_closes_its_dead_task(db):
    # given a job whose worker claimed it (database queue) and died
    job = pipeline.queue_steps([OK], [1])
    task_row = DBTaskResult.objects.get()
    task_row.claim("dead-worker")
    pipeline.claim_job(str(job.pk), "host:dead")
    job.refresh_from_db()
    # when the sweeper runs after the lease ran out
    with time_machine.travel(job.locked_until + dt.timedelta(seconds=1)):
        counts = pipeline.sweep_jobs()
    # then the job has a fresh wake-up, and the dead one says why it stopped
    assert counts["lapsed"] == 1
    task_row.refresh_from_db()
    assert task_row.status == "FAILED"
    assert task_row.exception_class_path == "cherish.core.pipeline.WorkerLost"
    fresh = DBTaskResult.objects.exclude(pk=task_row.pk).get()
    assert (fresh.status, fresh.args_kwargs["args"]) == ("READY", [str(job.pk)])


@override_settings(TASKS=DB_TASKS)
def test_sweep_leaves_a_long_queue_alone_and_requeues_a_lost_wake_up(db):
    # given two overdue pending jobs: one still queued (a backlog), one whose wake-up is gone
    waiting = pipeline.queue_steps([OK], [1])
    lost = pipeline.queue_steps([OK], [2])
    DBTaskResult.objects.filter(args_kwargs__args=[str(lost.pk)]).delete()
    # when the sweeper runs after the grace period
    later = now() + pipeline.SWEEP_GRACE + dt.timedelta(seconds=1)
    with time_machine.travel(later):
        counts = pipeline.sweep_jobs()
        # then only the lost one is queued again, and a second sweep adds nothing
        assert counts["lost"] == 1
        assert pipeline.sweep_jobs()["lost"] == 0
    assert DBTaskResult.objects.count() == 2
    lost.refresh_from_db()
    waiting.refresh_from_db()
    assert DBTaskResult.objects.filter(pk=lost.task_id, status="READY").exists()
    assert waiting.checked_at is not None


def test_sweep_forgets_done_jobs_after_a_week(db):
    job = pipeline.queue_steps([OK], [1])
    pipeline.run_steps_task.call(str(job.pk))
    with time_machine.travel(now() + pipeline.KEEP_DONE + dt.timedelta(minutes=1)):
        assert pipeline.sweep_jobs()["purged"] == 1
    assert not Job.objects.exists()


def test_failed_jobs_can_be_run_again_once_the_cause_is_fixed(db):
    # given a job that gave up on its second step
    job = pipeline.queue_steps([OK, FAILS], [5])
    Job.objects.filter(pk=job.pk).update(attempts=pipeline.MAX_ATTEMPTS - 1)
    assert pipeline.run_steps_task.call(str(job.pk)) == "failed"
    default_task_backend.clear()
    # when an operator asks for it to run again
    assert pipeline.retry_failed_jobs() == 1
    # then it is pending again with fresh attempts, from the failed step, and a worker is woken
    job.refresh_from_db()
    assert (job.status, job.attempts, job.step) == (JobStatus.PENDING, 0, 1)
    assert _queued_job_ids() == [str(job.pk)]
