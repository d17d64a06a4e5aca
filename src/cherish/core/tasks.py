"""Enqueue background work only once the caller's transaction has committed."""

from __future__ import annotations

from typing import Any

from django.db import transaction


def enqueue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Enqueue ``task`` after the current transaction commits (immediately outside one).

    A task enqueued inside a transaction that later rolls back would act on rows that never
    existed; waiting for the commit rules that out.
    """
    transaction.on_commit(lambda: task.enqueue(*args, **kwargs))


def enqueue_now_rollback_unsafe(task: Any, *args: Any, **kwargs: Any) -> Any:
    """Enqueue at once, even inside a transaction. For tests and tooling only."""
    return task.enqueue(*args, **kwargs)
