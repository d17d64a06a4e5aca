"""Run a list of steps, in order, in one background task.

Some follow-on work must happen in sequence (triage decides the kind before the
acknowledgement is written), yet the apps doing it must not import each other. The caller
names the steps by dotted path; each step is idempotent, so on a failure the remaining steps
are queued again with a growing delay, and a step that already ran does nothing twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.utils.module_loading import import_string
from django_tasks import task

from cherish.core.clock import now

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 6


def run_step(dotted: str, *args: Any) -> None:
    step = import_string(dotted)
    # A django-tasks Task is run in-process with .call(); a plain function is called directly.
    runner = getattr(step, "call", step)
    runner(*args)


@task()
def run_steps_task(steps: list[str], args: list[Any], attempt: int = 1) -> None:
    for position, dotted in enumerate(steps):
        try:
            run_step(dotted, *args)
        except Exception:
            remaining = steps[position:]
            if attempt >= MAX_ATTEMPTS:
                logger.exception("step %s failed %d times; giving up", dotted, attempt)
                raise
            delay = dt.timedelta(seconds=min(3600, 5 * 4 ** (attempt - 1)))
            logger.warning(
                "step %s failed (attempt %d); retrying in %s", dotted, attempt, delay, exc_info=True
            )
            run_steps_task.using(run_after=now() + delay).enqueue(remaining, args, attempt + 1)
            return
