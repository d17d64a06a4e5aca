"""Delivery tasks: ids in, claim the row, deliver, record; retried with backoff."""

from __future__ import annotations

from django_tasks import task

from cherish.outbox import delivery
from cherish.outbox.models import OutgoingEmail, WebhookDelivery
from cherish.outbox.retry import RetryPolicy, run_delivery

# SMTP servers themselves retry for days; ten tries over ~8.5 hours cover a long outage,
# after which the email shows as failed on the desk's task page with its error.
EMAIL_POLICY = RetryPolicy(max_attempts=10, base_delay_s=60, max_delay_s=3 * 3600)
WEBHOOK_POLICY = RetryPolicy(max_attempts=8, base_delay_s=60, max_delay_s=3 * 3600)


@task()
def deliver_email_task(email_id: int) -> str:
    outcome = run_delivery(
        OutgoingEmail, email_id, delivery.send_email, task=deliver_email_task, policy=EMAIL_POLICY
    )
    return outcome.status


@task()
def deliver_webhook_task(delivery_id: int) -> str:
    outcome = run_delivery(
        WebhookDelivery,
        delivery_id,
        delivery.post_webhook,
        task=deliver_webhook_task,
        policy=WEBHOOK_POLICY,
    )
    return outcome.status
