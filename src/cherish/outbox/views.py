"""The desk's task page: what has not left Cherish yet, why, and a "retry now" button."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django_tasks_db.models import DBTaskResult

from cherish.core.errors import CherishError
from cherish.outbox import actions
from cherish.outbox.models import DeliveryStatus, OutgoingEmail, WebhookDelivery

NOT_DONE = [DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.FAILED]


def desk_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in staff only (the outbox sits below the staff app, so it asks the user)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            user.staff  # type: ignore[union-attr]  # noqa: B018
        except (ObjectDoesNotExist, AttributeError):
            raise Http404 from None
        return view(request, *args, **kwargs)

    return wrapper


@desk_only
def task_list(request: HttpRequest) -> HttpResponse:
    emails = OutgoingEmail.objects.filter(status__in=NOT_DONE).order_by("status", "-created_at")
    webhooks = (
        WebhookDelivery.objects.filter(status__in=NOT_DONE)
        .select_related("subscription")
        .order_by("status", "-created_at")
    )
    recent = OutgoingEmail.objects.filter(status=DeliveryStatus.SENT).order_by("-delivered_at")
    # Tasks that gave up after their retries (triage, acknowledgements, ticks …), with the
    # error they ended on; the database task backend keeps them (RQ keeps its own registry).
    failed_tasks = [
        {
            "task": row.task_path.rsplit(".", 1)[-1],
            "path": row.task_path,
            "at": row.finished_at,
            "error": (row.traceback.strip().splitlines() or [row.exception_class_path])[-1],
            "args": row.args_kwargs.get("args", []),
        }
        for row in DBTaskResult.objects.failed().order_by("-finished_at")[:50]
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
@desk_only
def retry_email(request: HttpRequest, pk: int) -> HttpResponse:
    email = get_object_or_404(OutgoingEmail, pk=pk)
    try:
        actions.retry_email_now(email)
        messages.success(request, f"The email to {email.to_address} will be sent again now.")
    except CherishError as error:
        messages.error(request, error.message)
    return redirect("outbox:tasks")


@require_POST
@desk_only
def retry_webhook(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(WebhookDelivery, pk=pk)
    try:
        actions.retry_webhook_now(delivery)
        messages.success(request, "The webhook will be delivered again now.")
    except CherishError as error:
        messages.error(request, error.message)
    return redirect("outbox:tasks")
