"""The desk's task page: what has not left Cherish yet, why, and a "retry now" button."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_tasks_db.models import DBTaskResult

from cherish.core.errors import CherishError, Forbidden
from cherish.core.models import Job, JobStatus
from cherish.desk.guard import DeskRequest, desk_view
from cherish.outbox import actions
from cherish.outbox.models import DeliveryStatus, OutgoingEmail, WebhookDelivery

JOB_TASK_PATH = "cherish.core.pipeline.run_steps_task"
NOT_DONE = [DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.FAILED]


def _check_sees_all_mail(request: DeskRequest) -> None:
    """Everything leaving Cherish, for every team's customers, is for those who see every
    customer (managers, data protection: staff.view_all_customers) and administrators.

    Asked by permission and role name: the outbox sits below the staff app.
    """
    if request.user.has_perm("staff.view_all_customers") or request.staff.role == "administrator":
        return
    raise Forbidden(
        _("The outbox lists mail to every team's customers: ask a manager or an administrator."),
        code="outbox_not_allowed",
    )


@desk_view
def task_list(request: DeskRequest) -> HttpResponse:
    _check_sees_all_mail(request)
    emails = OutgoingEmail.objects.filter(status__in=NOT_DONE).order_by("status", "-created_at")
    webhooks = (
        WebhookDelivery.objects.filter(status__in=NOT_DONE)
        .select_related("subscription")
        .order_by("status", "-created_at")
    )
    recent = OutgoingEmail.objects.filter(status=DeliveryStatus.SENT).order_by("-delivered_at")
    # Work that gave up after its retries, with the error it ended on: leased jobs (the
    # intake follow-on: triage, acknowledgement) on any task backend, and other tasks the
    # database backend kept (RQ keeps its own registry). A job's wake-up tasks are not listed
    # on their own: the job says how the work ended.
    failed_jobs = [
        {
            "task": ", ".join(step.rsplit(".", 1)[-1] for step in job.steps),
            "path": " → ".join(job.steps),
            "at": job.finished_at,
            "error": job.last_error,
            "args": job.args,
        }
        for job in Job.objects.filter(status=JobStatus.FAILED).order_by("-finished_at")[:50]
    ]
    failed_tasks = failed_jobs + [
        {
            "task": row.task_path.rsplit(".", 1)[-1],
            "path": row.task_path,
            "at": row.finished_at,
            "error": (row.traceback.strip().splitlines() or [row.exception_class_path])[-1],
            "args": row.args_kwargs.get("args", []),
        }
        for row in DBTaskResult.objects.failed()
        .exclude(task_path=JOB_TASK_PATH)
        .order_by("-finished_at")[:50]
    ]
    return render(
        request,
        "outbox/task_list.html",
        {
            "emails": list(emails[:200]),
            "webhooks": list(webhooks[:200]),
            "recent_emails": list(recent[:20]),
            "failed_tasks": failed_tasks,
        },
    )


@require_POST
@desk_view
def retry_email(request: DeskRequest, pk: int) -> HttpResponse:
    _check_sees_all_mail(request)
    email = get_object_or_404(OutgoingEmail, pk=pk)
    try:
        actions.retry_email_now(email)
        messages.success(
            request,
            gettext("The email to %(address)s will be sent again now.")
            % {"address": email.to_address},
        )
    except CherishError as error:
        messages.error(request, error.message)
    return redirect("outbox:tasks")


@require_POST
@desk_view
def retry_webhook(request: DeskRequest, pk: int) -> HttpResponse:
    _check_sees_all_mail(request)
    delivery = get_object_or_404(WebhookDelivery, pk=pk)
    try:
        actions.retry_webhook_now(delivery)
        messages.success(request, gettext("The webhook will be delivered again now."))
    except CherishError as error:
        messages.error(request, error.message)
    return redirect("outbox:tasks")
