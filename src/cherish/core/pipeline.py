"""Run a list of steps, in order, as one leased job that survives the death of its worker.

Some follow-on work must happen in sequence (triage decides the kind before the
acknowledgement is written), yet the apps doing it must not import each other. The caller
names the steps by dotted path. ``queue_steps`` writes a ``Job`` row in the caller's
transaction; the task queue only wakes a worker, which claims the row with a lease and keeps
the lease alive while the steps run (``core.leases``). When the worker is killed the lease
runs out and ``sweep_jobs`` queues the job again; each step is idempotent, so a step that
already ran does nothing twice. A step that raises is retried from that step with a growing
delay; after ``MAX_ATTEMPTS`` tries (crashes included) the job is marked failed with its
error, for staff to see.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils.module_loading import import_string
from django_tasks import TaskResultStatus, task
from django_tasks.exceptions import TaskResultDoesNotExist

from cherish.core.clock import now
from cherish.core.leases import KeepAlive, dead_workers, lease_seconds, worker_name
from cherish.core.models import Job, JobStatus
from cherish.core.rows import Maker, RowInsert, select_in
from cherish.core.tasks import tasks_share_default_database

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 6
# A pending job whose wake-up has not run this long after it was due is checked with the
# task queue, and queued again if the queue no longer has it.
SWEEP_GRACE = dt.timedelta(seconds=60)
KEEP_DONE = dt.timedelta(days=7)
# Steps that moved: a task queued before an upgrade (or a CHERISH_INTAKE_FOLLOW_ON written for
# an older version) still names the old path.
MOVED_STEPS = {
    "cherish.intake.tasks.send_acknowledgement_task": "cherish.care.tasks.respond_to_contact_task",
}


def run_step(dotted: str, *args: Any) -> None:
    step = import_string(MOVED_STEPS.get(dotted, dotted))
    # A django-tasks Task is run in-process with .call(); a plain function is called directly.
    runner = getattr(step, "call", step)
    runner(*args)


def queue_steps(steps: Sequence[str], args: Sequence[Any], *, key: str | None = None) -> Job:
    """Write a job running ``steps`` with ``args`` in the caller's transaction.

    With the database task queue on the same database, the wake-up is written in the same
    transaction (it exists exactly when the job does, at no extra commit); with any other
    queue it is sent after the commit, and the sweeper covers a crash in between. A ``key``
    already used returns the existing job instead of a second one.
    """
    with transaction.atomic():
        if key is not None:
            existing = Job.objects.filter(key=key).first()
            if existing is not None:
                return existing
        at = now()
        job = Job(key=key, steps=list(steps), args=list(args), due_at=at, created_at=at)
        if tasks_share_default_database(run_steps_task):
            job.task_id = run_steps_task.enqueue(str(job.pk)).id
            job.save(force_insert=True)
        else:
            job.save(force_insert=True)
            transaction.on_commit(lambda: wake(job.pk))
    return job


def queue_many_steps(
    steps: Sequence[str], jobs: Sequence[tuple[Sequence[Any], str]], *, new_keys: bool = False
) -> list[Job]:
    """``queue_steps`` for a batch of jobs, each given as (args, key), in the caller's
    transaction: one query for the keys already used, then one INSERT for the new jobs and,
    with the database task queue on the same database, one INSERT for their wake-ups (rows
    exactly as django-tasks' ``enqueue`` writes them, ``_wake_up_rows``); with any other
    queue the wake-ups are sent after the commit, as queue_steps sends them.

    ``new_keys``: the caller knows no key can be in use yet (they name rows it has just
    inserted), so the query is skipped; a key in use after all fails the INSERT on the
    keys' unique constraint (IntegrityError), never a second job."""
    keys = [key for _, key in jobs]
    with transaction.atomic(savepoint=False):
        existing = {} if new_keys else _jobs_with_keys(keys)
        at = now()
        shared = tasks_share_default_database(run_steps_task)
        fresh: list[Job] = []
        seen: set[str] = set()
        for args, key in jobs:
            if key in existing or key in seen:
                continue
            seen.add(key)
            fresh.append(
                _NEW_JOB(
                    key=key,
                    steps=list(steps),
                    args=list(args),
                    due_at=at,
                    created_at=at,
                    task_id=str(uuid.uuid4()) if shared else "",
                )
            )
        if shared:
            _wake_up_rows([job.task_id for job in fresh], [str(job.pk) for job in fresh], at)
        _JOB_ROWS.add(fresh)
        if not shared and fresh:
            woken = [job.pk for job in fresh]

            def wake_all() -> None:
                for pk in woken:
                    wake(pk)

            transaction.on_commit(wake_all)
    made = {job.key: job for job in fresh}
    return [existing.get(key) or made[key] for _, key in jobs]


_JOB_ROWS = RowInsert(Job)
_NEW_JOB = Maker(Job)


def _jobs_with_keys(keys: list[str]) -> dict[str, Job]:
    """The jobs already queued under these keys (plain SQL: this runs for every batch of
    complaints, where it finds nothing, and the ORM's query building cost more than it)."""
    found = [row[0] for row in select_in(Job, ["id"], "key", keys)]
    if not found:
        return {}
    return {job.key: job for job in Job.objects.filter(pk__in=found) if job.key is not None}


_task_rows: list[Any] = []


def _wake_up_rows(task_ids: list[str], job_ids: list[str], at: dt.datetime) -> None:
    """Queue ``run_steps_task(job_id)`` for each job in the database task queue, with one
    INSERT: the rows django-tasks-db's ``enqueue`` writes one by one (``_task_to_db_task``:
    status READY, ``run_after`` its "no date" maximum, the task's priority, queue and
    backend), so its worker runs them as it runs any. ``tests/core/test_pipeline.py``
    compares them with rows ``enqueue`` wrote."""
    if not task_ids:
        return
    from django_tasks_db.models import DBTaskResult, get_date_max

    if not _task_rows:
        _task_rows.append(
            RowInsert(
                DBTaskResult,
                [
                    "id",
                    "status",
                    "enqueued_at",
                    "started_at",
                    "finished_at",
                    "args_kwargs",
                    "priority",
                    "task_path",
                    "worker_ids",
                    "queue_name",
                    "backend_name",
                    "run_after",
                    "return_value",
                    "exception_class_path",
                    "traceback",
                ],
            )
        )
    task = run_steps_task
    backend = task.get_backend()
    backend.validate_task(task)
    run_after = task.run_after if task.run_after is not None else get_date_max()
    _task_rows[0].run(
        [
            (
                uuid.UUID(task_id),
                str(TaskResultStatus.READY),
                at,
                None,
                None,
                {"args": [job_id], "kwargs": {}},
                task.priority,
                task.module_path,
                [],
                task.queue_name,
                backend.alias,
                run_after,
                None,
                "",
                "",
            )
            for task_id, job_id in zip(task_ids, job_ids, strict=True)
        ]
    )


def wake(job_id: Any, *, run_after: dt.datetime | None = None) -> None:
    """Queue a wake-up for the job and remember its id; logs rather than raises, because the
    job row is already committed and the sweeper queues it again if this fails."""
    try:
        runner = run_steps_task.using(run_after=run_after) if run_after else run_steps_task
        result = runner.enqueue(str(job_id))
        Job.objects.filter(pk=job_id).update(task_id=result.id)
    except Exception:
        logger.warning("could not queue job %s; the sweeper will", job_id, exc_info=True)


def claim_job(job_id: str, worker: str) -> Job | None:
    """Take the job with a lease; None when it is gone, done, not yet due or held."""
    at = now()
    claimable = Q(status=JobStatus.PENDING, due_at__lte=at) | Q(
        status=JobStatus.RUNNING, locked_until__lt=at
    )
    with transaction.atomic():
        taken = Job.objects.filter(claimable, pk=job_id).update(
            status=JobStatus.RUNNING,
            attempts=F("attempts") + 1,
            locked_until=at + dt.timedelta(seconds=lease_seconds()),
            worker=worker,
            checked_at=None,
        )
    if not taken:
        return None
    job = Job.objects.get(pk=job_id)
    if job.attempts > MAX_ATTEMPTS:
        give_up_lost(job, worker, at)
        return None
    return job


def give_up_lost(job: Job, worker: str, at: dt.datetime) -> None:
    """Fail a job just claimed for the (MAX_ATTEMPTS + 1)th time.

    Only crashes get here (a step's own failures stop at MAX_ATTEMPTS): a job that keeps
    killing its worker must not take every worker down with it for ever.
    """
    Job.objects.filter(pk=job.pk, worker=worker).update(
        status=JobStatus.FAILED,
        locked_until=None,
        finished_at=at,
        last_error=f"gave up: its worker was lost {job.attempts - 1} times. {job.last_error}",
    )


def release_dead_holders() -> list[tuple[Any, str]]:
    """Put back in the queue, at once, the running jobs held by a worker of this machine
    whose process is gone (core.leases.is_dead): a killed worker or a whole ``cherish serve``
    killed and started again need not wait for their leases. Their attempt still counts.
    Holders on other machines are left to their leases. Returns (pk, task_id) of each."""
    held = Job.objects.filter(status=JobStatus.RUNNING).values_list("worker", flat=True)
    dead = dead_workers(set(held))
    if not dead:
        return []
    with transaction.atomic():
        rows = Job.objects.filter(status=JobStatus.RUNNING, worker__in=dead)
        released = list(rows.values_list("pk", "task_id"))
        rows.filter(pk__in=[pk for pk, _ in released]).update(
            status=JobStatus.PENDING, locked_until=None, due_at=now()
        )
    logger.warning("took back %d job(s) from stopped worker(s) %s", len(released), ", ".join(dead))
    return released


@task()
def run_steps_task(job_id: str) -> str:
    worker = worker_name()
    job = claim_job(job_id, worker)
    if job is None:
        return "skipped"
    holder = {"worker": worker, "status": JobStatus.RUNNING}
    with KeepAlive(Job, job.pk, holder=holder):
        for position in range(job.step, len(job.steps)):
            try:
                run_step(job.steps[position], *job.args)
            except Exception as error:
                return record_failure(job, position, error, holder)
    Job.objects.filter(pk=job.pk, **holder).update(
        status=JobStatus.DONE, locked_until=None, finished_at=now(), last_error=""
    )
    return "done"


def record_failure(job: Job, position: int, error: Exception, holder: dict[str, Any]) -> str:
    dotted = job.steps[position]
    message = f"attempt {job.attempts}, step {dotted}: {type(error).__name__}: {error}"[:5000]
    if job.attempts >= MAX_ATTEMPTS:
        logger.error("job %s: step %s failed %d times; giving up", job.pk, dotted, job.attempts)
        Job.objects.filter(pk=job.pk, **holder).update(
            status=JobStatus.FAILED,
            step=position,
            locked_until=None,
            finished_at=now(),
            last_error=message,
        )
        return "failed"
    due = now() + dt.timedelta(seconds=min(3600, 5 * 4 ** (job.attempts - 1)))
    logger.warning(
        "job %s: step %s failed (attempt %d); retrying at %s",
        job.pk,
        dotted,
        job.attempts,
        due,
        exc_info=error,
    )
    Job.objects.filter(pk=job.pk, **holder).update(
        status=JobStatus.PENDING, step=position, due_at=due, locked_until=None, last_error=message
    )
    wake(job.pk, run_after=due)
    return "retrying"


def sweep_jobs(*, limit: int = 500) -> dict[str, int]:
    """Queue again the jobs a crash or a lost queue left behind; forget old finished ones.

    A running job whose lease ran out lost its worker; a pending job long overdue whose
    wake-up the queue no longer has (Redis restarted, a crash between commit and enqueue, a
    wake-up that failed on a database outage) would otherwise wait for ever. Safe from
    several processes at once: claiming is atomic, so a job woken twice still runs once.
    """
    at = now()
    lapsed = release_dead_holders() + list(
        Job.objects.filter(status=JobStatus.RUNNING, locked_until__lt=at).values_list(
            "pk", "task_id"
        )[:limit]
    )
    _fail_lost_database_tasks([task_id for _, task_id in lapsed if task_id])
    for pk, _ in lapsed:
        wake(pk)

    overdue = list(
        Job.objects.filter(status=JobStatus.PENDING, due_at__lte=at - SWEEP_GRACE)
        .filter(Q(checked_at__isnull=True) | Q(checked_at__lte=at - SWEEP_GRACE))
        .order_by("due_at")
        .values_list("pk", "task_id")[:limit]
    )
    queued = _still_queued([task_id for _, task_id in overdue if task_id])
    waiting = [pk for pk, task_id in overdue if task_id in queued]
    Job.objects.filter(pk__in=waiting).update(checked_at=at)
    lost = [pk for pk, task_id in overdue if task_id not in queued]
    for pk in lost:
        wake(pk)

    old = Job.objects.filter(status=JobStatus.DONE, finished_at__lt=at - KEEP_DONE)
    purged, _ = Job.objects.filter(pk__in=list(old.values_list("pk", flat=True)[:5000])).delete()
    return {"lapsed": len(lapsed), "lost": len(lost), "purged": purged}


def retry_failed_jobs() -> int:
    """Give every failed job a fresh set of attempts from the step it failed on (an operator
    fixed the cause); returns how many were queued."""
    ids = list(Job.objects.filter(status=JobStatus.FAILED).values_list("pk", flat=True))
    Job.objects.filter(pk__in=ids, status=JobStatus.FAILED).update(
        status=JobStatus.PENDING, attempts=0, due_at=now(), finished_at=None, checked_at=None
    )
    for pk in ids:
        wake(pk)
    return len(ids)


def _still_queued(task_ids: list[str]) -> set[str]:
    """The task ids the queue still holds waiting or running."""
    live = {TaskResultStatus.READY, TaskResultStatus.RUNNING}
    if tasks_share_default_database(run_steps_task):
        from django_tasks_db.models import DBTaskResult

        rows = DBTaskResult.objects.filter(id__in=task_ids, status__in=live)
        return {str(pk) for pk in rows.values_list("id", flat=True)}
    backend = run_steps_task.get_backend()
    found = set()
    for task_id in task_ids:
        try:
            if backend.get_result(task_id).status in live:
                found.add(task_id)
        except TaskResultDoesNotExist:
            pass
    return found


def _fail_lost_database_tasks(task_ids: list[str]) -> None:
    """The database queue would show a dead worker's task as running for ever; say why not."""
    if not task_ids or not tasks_share_default_database(run_steps_task):
        return
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(id__in=task_ids, status=TaskResultStatus.RUNNING).update(
        status=TaskResultStatus.FAILED,
        finished_at=now(),
        exception_class_path="cherish.core.pipeline.WorkerLost",
        traceback="The worker running this task stopped (its lease ran out); queued again.",
    )
