"""The task worker on the database queue: leased jobs in batches, other tasks in between.

django-tasks-db's own worker runs one task at a time, and a follow-on job (triage, the
acknowledgement, the theme) cost eight commits there: the queue's claim and result, the
job's claim and "done", each step's transaction, the email's claim and "sent". On SQLite
every commit is an fsync (``synchronous=FULL``), so one worker drained about two jobs a
second on a loaded machine, and a burst of complaints waited minutes for its answers.

This worker reads the ``core.Job`` rows themselves (the task queue only wakes a worker; the
job row is the truth, core.pipeline):

1. it **claims a batch** of due jobs in one transaction, with a lease, and marks their
   wake-ups running; jobs held by a worker of this machine whose process is gone
   (core.leases.is_dead) are taken back at once, without waiting for their lease;
2. it runs the claimed jobs **in groups, one transaction per group** (a quarter of a second
   of work at most, so web requests waiting to write are not held up longer): every step of
   every job in a savepoint of its own, the job marked done and its wake-up finished in the
   same transaction. A step that raises rolls back to its savepoint and is retried later
   from that step (core.pipeline's backoff); the rest of the group goes on;
3. around each group the hooks of ``CHERISH_JOB_GROUP_HOOKS`` run, e.g. the outbox's
   ``delivering_together``: the group's acknowledgements are written already claimed and
   sent together over one SMTP connection once the group has committed.

A heartbeat thread keeps the leases of everything this worker holds alive. A worker killed
at any point leaves its group rolled back (nothing half-done) and its jobs leased to a dead
process: the next worker on this machine, or ``sweep_jobs``, takes them back; every step is
idempotent anyway, so a job run again changes nothing twice and sends nothing twice.

Between batches it runs the other queued tasks (email retries, webhooks, periodic tasks)
as django-tasks-db's worker would, so a backlog of jobs never starves them.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import sys
import time
from contextlib import ExitStack
from types import FrameType
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.db.utils import OperationalError
from django.utils.module_loading import import_string
from django_tasks import TaskResultStatus

from cherish.core.clock import now
from cherish.core.leases import KeepAlive, lease_seconds, worker_name
from cherish.core.models import Job, JobStatus
from cherish.core.pipeline import (
    MAX_ATTEMPTS,
    give_up_lost,
    record_failure,
    release_dead_holders,
    run_step,
    run_steps_task,
)
from cherish.core.tasks import tasks_share_default_database

logger = logging.getLogger(__name__)

BATCH = 20  # jobs claimed at once
GROUP_S = 0.25  # a group's transaction takes on no further job after this long
DEAD_CHECK_S = 5.0  # how often to look for jobs held by dead workers of this machine
RUN_STEPS_PATH = f"{run_steps_task.func.__module__}.{run_steps_task.func.__qualname__}"


class JobWorker:
    def __init__(
        self,
        *,
        interval: float = 0.5,
        burst: bool = False,
        max_tasks: int | None = None,
        queue_names: list[str] | None = None,
        backend_name: str = "default",
    ) -> None:
        self.name = worker_name()
        self.interval = interval
        self.burst = burst
        self.max_tasks = max_tasks
        self.queue_names = queue_names or ["default"]
        self.backend_name = backend_name
        self.running = True
        self.busy = False
        self.done = 0
        self.dead_checked = float("-inf")
        self.wakeups = tasks_share_default_database(run_steps_task)
        self.hooks = [import_string(path) for path in settings.CHERISH_JOB_GROUP_HOOKS]

    # -- the loop

    def run(self) -> None:
        previous = self._signals()
        try:
            self._loop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _loop(self) -> None:
        logger.info("worker %s: running jobs in batches of %d", self.name, BATCH)
        holder = {"worker": self.name, "status": JobStatus.RUNNING}
        with KeepAlive(Job, None, holder=holder):
            while self.running:
                # As Django does between requests: a connection broken by a database restart
                # is dropped here. (Never inside a transaction: a test wraps the worker in one.)
                if not connection.in_atomic_block:
                    close_old_connections()
                try:
                    ran = self.run_jobs()
                    # Other tasks between batches; the jobs' own wake-ups only when no job
                    # is due (those are then stale or someone else's, and finish at once).
                    ran += self.run_other_task(wakeups=not ran)
                except OperationalError as error:
                    # The database is locked, full or restarting: wait and try again.
                    logger.warning("worker %s: %s; trying again shortly", self.name, error)
                    ran = 0
                    time.sleep(max(self.interval, 1.0))
                if self.max_tasks is not None and self.done >= self.max_tasks:
                    break
                if not ran:
                    if self.burst:
                        break
                    time.sleep(self.interval)
        self._release_unstarted()

    def _signals(self) -> dict[int, Any]:
        def stop(signum: int, frame: FrameType | None) -> None:
            if not self.running or not self.busy:
                sys.exit(0)
            # Finish the group in hand; the jobs not started go back to the queue.
            self.running = False

        return {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}

    # -- jobs

    def run_jobs(self) -> int:
        """Claim a batch of due jobs and run it; how many jobs were claimed."""
        if time.monotonic() - self.dead_checked >= DEAD_CHECK_S:
            self.dead_checked = time.monotonic()
            release_dead_holders()
        jobs = self.claim()
        if not jobs:
            return 0
        self.busy = True
        try:
            pending = list(jobs)
            while pending and self.running:
                try:
                    pending = self.run_group(pending)
                except OperationalError:
                    raise  # the database itself: the jobs go back uncounted, tried shortly
                except Exception as error:
                    # The group failed as a whole (an error at its commit, or in the worker's
                    # own writes): each job it held counts an attempt and waits its backoff,
                    # so a job that breaks every group it is in cannot go on for ever.
                    logger.exception("worker %s: a group of jobs failed", self.name)
                    holder = {"worker": self.name, "status": JobStatus.RUNNING}
                    for job in pending:
                        record_failure(job, job.step, error, holder)
                    pending = []
        finally:
            self.busy = False
            self._release_unstarted()
        return len(jobs)

    def claim(self) -> list[Job]:
        at = now()
        claimable = Q(status=JobStatus.PENDING, due_at__lte=at) | Q(
            status=JobStatus.RUNNING, locked_until__lt=at
        )
        with transaction.atomic():
            due = Job.objects.filter(claimable).order_by("due_at")
            if connection.features.has_select_for_update_skip_locked:
                due = due.select_for_update(skip_locked=True)
            ids = list(due.values_list("pk", flat=True)[:BATCH])
            if not ids:
                return []
            Job.objects.filter(claimable, pk__in=ids).update(
                status=JobStatus.RUNNING,
                attempts=F("attempts") + 1,
                locked_until=at + dt.timedelta(seconds=lease_seconds()),
                worker=self.name,
                checked_at=None,
            )
            jobs = list(Job.objects.filter(pk__in=ids, worker=self.name, status=JobStatus.RUNNING))
            lost = [job for job in jobs if job.attempts > MAX_ATTEMPTS]
            for job in lost:
                give_up_lost(job, self.name, at)
            jobs = [job for job in jobs if job.attempts <= MAX_ATTEMPTS]
            self._wakeups_claimed(jobs, at)
        return sorted(jobs, key=lambda job: (job.due_at, job.created_at))

    def run_group(self, jobs: list[Job]) -> list[Job]:
        """Run jobs from the front of ``jobs`` in one transaction for up to GROUP_S; return
        the jobs not started."""
        started = time.monotonic()
        finished: list[Job] = []
        failed: list[tuple[Job, int, Exception]] = []
        pending = list(jobs)
        with ExitStack() as hooks:
            for hook in self.hooks:
                hooks.enter_context(hook())
            with transaction.atomic():
                while pending and (
                    not (finished or failed) or time.monotonic() - started < GROUP_S
                ):
                    job = pending.pop(0)
                    outcome = self._run_job(job)
                    if outcome is None:
                        finished.append(job)
                    else:
                        failed.append((job, *outcome))
                at = now()
                Job.objects.filter(
                    pk__in=[job.pk for job in finished], worker=self.name, status=JobStatus.RUNNING
                ).update(status=JobStatus.DONE, locked_until=None, finished_at=at, last_error="")
                self._wakeups_finished(finished, at)
        # Failures are recorded after the group commits: their retry is queued at once.
        for job, position, error in failed:
            holder = {"worker": self.name, "status": JobStatus.RUNNING}
            record_failure(job, position, error, holder)
        self.done += len(finished) + len(failed)
        return pending

    def _run_job(self, job: Job) -> tuple[int, Exception] | None:
        """Run the job's steps from where it stopped, each in a savepoint; (position, error)
        of the step that failed, or None."""
        for position in range(job.step, len(job.steps)):
            try:
                with transaction.atomic():
                    run_step(job.steps[position], *job.args)
            except Exception as error:
                # The steps before it are kept (their savepoints were released); the retry
                # starts at this one (record_failure, after the group commits).
                return position, error
        return None

    def _release_unstarted(self) -> None:
        """Give back the jobs claimed but not started (stopping): due now, the attempt not
        counted."""
        try:
            Job.objects.filter(worker=self.name, status=JobStatus.RUNNING).update(
                status=JobStatus.PENDING,
                locked_until=None,
                attempts=F("attempts") - 1,
                due_at=now(),
            )
        except OperationalError:
            logger.warning("worker %s: could not give back its jobs; their lease ends", self.name)

    # -- the task queue's wake-ups of those jobs (database queue only)

    def _wakeups_claimed(self, jobs: list[Job], at: dt.datetime) -> None:
        if not self.wakeups:
            return
        from django_tasks_db.models import DBTaskResult

        ids = [job.task_id for job in jobs if job.task_id]
        DBTaskResult.objects.filter(id__in=ids, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.FAILED,
            finished_at=at,
            exception_class_path="cherish.core.pipeline.WorkerLost",
            traceback="The worker running this task stopped; another took its job.",
        )
        DBTaskResult.objects.filter(id__in=ids, status=TaskResultStatus.READY).update(
            status=TaskResultStatus.RUNNING, started_at=at, worker_ids=[self.name]
        )

    def _wakeups_finished(self, jobs: list[Job], at: dt.datetime) -> None:
        if not self.wakeups or not jobs:
            return
        from django_tasks_db.models import DBTaskResult

        DBTaskResult.objects.filter(
            id__in=[job.task_id for job in jobs if job.task_id], status=TaskResultStatus.RUNNING
        ).update(status=TaskResultStatus.SUCCESSFUL, finished_at=at, return_value="done")

    # -- every other task

    def run_other_task(self, *, wakeups: bool) -> int:
        """Run one ready task of the database queue (none on other backends); 1 if it did."""
        if not self.wakeups:
            return 0
        from django_tasks_db.management.commands.db_worker import Worker
        from django_tasks_db.models import DBTaskResult
        from django_tasks_db.utils import exclusive_transaction

        tasks = DBTaskResult.objects.ready().filter(
            backend_name=self.backend_name, queue_name__in=self.queue_names
        )
        if not wakeups:
            tasks = tasks.exclude(task_path=RUN_STEPS_PATH)
        with exclusive_transaction(tasks.db):
            task_result = tasks.get_locked()
            if task_result is not None:
                task_result.claim(self.name[-64:])
        if task_result is None:
            return 0
        runner = Worker(
            queue_names=self.queue_names,
            interval=self.interval,
            batch=False,
            backend_name=self.backend_name,
            startup_delay=False,
            max_tasks=None,
            worker_id=self.name[-64:],
            excluded_queue_names=[],
        )
        self.busy = True
        try:
            runner.run_task(task_result)
        finally:
            self.busy = False
        self.done += 1
        return 1
