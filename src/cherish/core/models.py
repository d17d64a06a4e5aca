"""Work that must happen even when the process doing it dies.

The task queue (the database queue or Redis) only wakes a worker; a ``Job`` row, written in
the same transaction as the change that needs it, is the truth. A worker claims the row
with a lease and keeps the lease alive (a heartbeat) while it works, so a worker that is
killed leaves a row whose lease runs out, and the sweeper queues it again. The steps a job
runs are idempotent, so running one twice changes nothing and sends nothing twice.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class JobStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to run")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class Job(models.Model):
    # Chosen before the row is written, so the wake-up can be queued first and its id stored
    # in the same INSERT.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Set when the same work could be asked for twice (e.g. the follow-on of one message):
    # the second ask finds the first row instead of writing another.
    key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    steps = models.JSONField(help_text="Dotted paths of the steps, run in order.")
    args = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=8, choices=JobStatus.choices, default=JobStatus.PENDING)
    # The first step not yet known to have finished: a retry after a failure starts there.
    step = models.PositiveSmallIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    due_at = models.DateTimeField(help_text="Not run before this time (retry backoff).")
    locked_until = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=100, blank=True, help_text="host:pid holding the lease.")
    # The task queue's id for the latest wake-up, so the sweeper can ask whether it still
    # exists (Redis restarted without persistence loses it; the database queue does not).
    task_id = models.CharField(max_length=64, blank=True)
    # When the sweeper last found this pending job's wake-up still queued (a long backlog
    # is not a lost task); it looks again one grace period later.
    checked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "due_at"], name="job_due")]

    def __str__(self) -> str:
        return f"job {self.pk} ({self.status}): {', '.join(self.steps)}"


class RateCount(models.Model):
    """How often one sender did one thing in the current window (core.ratelimit.count_in_window).

    Counted by one upsert in the caller's transaction, so a limited action and its count
    commit together: a request that is refused or rolls back counts nothing.
    """

    key = models.CharField(max_length=80, primary_key=True)
    # When the current window began, in seconds since the epoch.
    period = models.BigIntegerField()
    hits = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.key}: {self.hits} in window {self.period}"
