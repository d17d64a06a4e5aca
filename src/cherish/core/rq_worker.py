"""The RQ worker ``cherish worker`` runs on Redis (``CHERISH_TASK_BACKEND=rq``)."""

from __future__ import annotations

from django.db import close_old_connections
from rq.job import Job
from rq.queue import Queue
from rq.worker import SimpleWorker


class Worker(SimpleWorker):
    """Runs each job in the worker process itself, dropping between jobs a database
    connection that broke (a database restart) or grew old, as Django does between requests.

    RQ's default worker forks a work horse per job, which opened a new database connection
    and loaded the triage model again for every job: 1.5-7 s a job in the scale-out fault
    run (R9) where the same job takes 0.2-0.4 s in a long-lived process. A job whose worker
    is killed mid-job is covered by the job's own lease (core.pipeline), as on the database
    queue.
    """

    def execute_job(self, job: Job, queue: Queue) -> None:
        close_old_connections()
        try:
            super().execute_job(job, queue)
        finally:
            close_old_connections()
