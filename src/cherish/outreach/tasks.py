"""Periodic outreach work, as django-tasks: ids and primitives in, safe to run twice."""

from __future__ import annotations

from django_tasks import task

from cherish.outreach import actions, identity, radar


@task()
def outreach_tick_task() -> dict[str, int]:
    """Schedule new follow-ups and send (or skip, or postpone) the due ones."""
    counts = actions.send_due_follow_ups()
    counts["scheduled"] = actions.schedule_follow_ups()
    return counts


@task()
def outreach_radar_task() -> int:
    """Recompute every customer's churn score (daily)."""
    return radar.compute_churn_scores()


@task()
def scan_duplicates_task() -> dict[str, int]:
    """Find candidate duplicate pairs among every customer and store them (hourly)."""
    return identity.scan_duplicates()


@task()
def refresh_usual_contacts_task() -> dict[str, int]:
    """Store each customer's usual contact for the moments page (hourly)."""
    return actions.refresh_usual_contacts()
