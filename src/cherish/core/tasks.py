"""Enqueue background work only once the caller's transaction has committed.

Work that must not be lost is not trusted to the queue alone: it has a row of its own (an
outbox row, a ``core.models.Job``) written in the caller's transaction, and a sweeper that
queues it again when its wake-up went missing. That is why a failed enqueue after a commit
is logged here rather than raised: the change is committed, and failing the request would
only make the client retry something that already happened.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DEFAULT_DB_ALIAS, router, transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Enqueue ``task`` after the current transaction commits (immediately outside one).

    A task enqueued inside a transaction that later rolls back would act on rows that never
    existed; waiting for the commit rules that out.
    """

    def enqueue() -> None:
        try:
            task.enqueue(*args, **kwargs)
        except Exception:
            logger.warning("could not enqueue %s%r; its sweeper will", task, args, exc_info=True)

    transaction.on_commit(enqueue)


def enqueue_now_rollback_unsafe(task: Any, *args: Any, **kwargs: Any) -> Any:
    """Enqueue at once, even inside a transaction. For tests and tooling only."""
    return task.enqueue(*args, **kwargs)


def tasks_share_default_database(task: Any) -> bool:
    """True when ``task`` is queued as a row of the default database (django-tasks-db).

    Then enqueueing inside the caller's transaction is safe and cheaper than after it: the
    task row becomes visible at the same commit and vanishes with a rollback.
    """
    if type(task.get_backend()).__module__ != "django_tasks_db.backend":
        return False
    from django_tasks_db.models import DBTaskResult

    return bool(router.db_for_write(DBTaskResult) == DEFAULT_DB_ALIAS)
