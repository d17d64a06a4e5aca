"""``cherish worker``: runs background tasks from the configured backend.

The database queue by default, run by core.job_worker (leased jobs in batches, one
transaction per group of jobs, the other tasks in between; CHERISH_BATCH_WORKER=0 runs
django-tasks-db's own one-task-at-a-time worker instead); with ``CHERISH_TASK_BACKEND=rq`` an RQ
worker on Redis, started with django-tasks-rq's job class: RQ's own job class would call the
django-tasks ``Task`` object itself and fail every job with "'Task' object is not callable".
The RQ worker runs each job itself rather than in a work horse forked per job
(core.rq_worker).
Start as many as the load needs, on as many machines: they share nothing but the database
and the queue.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from cherish.core.job_worker import JobWorker
from cherish.core.pipeline import run_steps_task
from cherish.core.tasks import tasks_share_default_database

RQ_JOB_CLASS = "django_tasks_rq.backend.Job"
RQ_WORKER_CLASS = "cherish.core.rq_worker.Worker"


class Command(BaseCommand):
    help = "Run a background task worker (database queue by default, RQ with Redis)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--interval", type=float, default=0.5)
        parser.add_argument("--max-tasks", type=int, default=None)
        parser.add_argument("--burst", action="store_true", help="Stop when the queue is empty.")

    def handle(self, *args: Any, **options: Any) -> None:
        backend = settings.TASKS["default"]
        queues = list(backend.get("QUEUES") or ["default"])
        if backend["BACKEND"].startswith("django_tasks_rq"):
            argv = [
                *queues,
                "--with-scheduler",
                "--job-class",
                RQ_JOB_CLASS,
                "--worker-class",
                RQ_WORKER_CLASS,
            ]
            if options["burst"]:
                argv.append("--burst")
            if options["max_tasks"]:
                argv += ["--max-jobs", str(options["max_tasks"])]
            call_command("rqworker", *argv)
            return
        # The batch worker reads the jobs and the queue from one database; a queue routed
        # to another database keeps django-tasks-db's own worker.
        if settings.CHERISH_BATCH_WORKER and tasks_share_default_database(run_steps_task):
            JobWorker(
                interval=options["interval"],
                burst=options["burst"],
                max_tasks=options["max_tasks"],
                queue_names=queues,
            ).run()
            return
        kwargs: dict[str, Any] = {
            "interval": options["interval"],
            "startup_delay": False,  # a restarted worker should start at once
            "queue_name": ",".join(queues),
            "reload": False,
        }
        if options["max_tasks"]:
            kwargs["max_tasks"] = options["max_tasks"]
        if options["burst"]:
            kwargs["batch"] = True
        call_command("db_worker", **kwargs)
