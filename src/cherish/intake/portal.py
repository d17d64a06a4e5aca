"""The customer's own case page, reached by a signed link (no login).

A token names one case and its link version; a forged, foreign or revoked token (the case's
``portal_version`` was bumped) is a plain 404, the same as a case that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from cherish.cases.actions import NewAttachment
from cherish.cases.models import Attachment, Case, Direction, Kind, Stage
from cherish.cases.outgoing import case_for_token
from cherish.core import ratelimit
from cherish.core.errors import CherishError
from cherish.intake.portal_intake import SOLVED_EVENT, confirm_solved_by_customer, reply_from_portal

REPLIES_PER_HOUR = 20

STAGE_WORDS = {
    Stage.RECEIVED: "We have received your message.",
    Stage.ACKNOWLEDGED: "We have your message and {owner} is looking after it.",
    Stage.LISTENING: "{owner} is finding out exactly what happened.",
    Stage.RESPONDING: "{owner} is preparing an answer for you.",
    Stage.RECOVERING: "We are putting things right.",
    Stage.PLUS_ONE: "We are putting things right.",
    Stage.FOLLOWING_UP: "{owner} will check with you that everything is now fine.",
    Stage.WAITING_ON_CUSTOMER: "We are waiting for your answer.",
    Stage.CLOSED: "This case is closed. Write below if anything is still not right.",
}


def _case_or_404(token: str) -> Case:
    case = case_for_token(token)
    if case is None:
        raise Http404
    return case


def _private(response: HttpResponseBase) -> HttpResponseBase:
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_http_methods(["GET", "HEAD"])
def case_page(request: HttpRequest, token: str) -> HttpResponseBase:
    case = _case_or_404(token)
    owner_name = case.owner.first_name if case.owner else "Our care team"
    conversation = (
        case.messages.exclude(direction=Direction.NOTE)
        .select_related("author")
        .prefetch_related("attachments")
        .order_by("created_at", "id")
    )
    solved = case.events.filter(type=SOLVED_EVENT).exists()
    context: dict[str, Any] = {
        "case": case,
        "token": token,
        "owner_name": owner_name,
        "status_text": STAGE_WORDS.get(Stage(case.stage), "").format(owner=owner_name),
        "conversation": list(conversation),
        "said_solved": solved,
        "is_complaint": case.kind == Kind.COMPLAINT,
    }
    return _private(render(request, "intake/portal/case.html", context))


def _files(request: HttpRequest) -> list[NewAttachment]:
    uploaded: list[UploadedFile] = request.FILES.getlist("files")
    return [
        NewAttachment(
            name=(item.name or "file")[:255],
            content_type=item.content_type or "application/octet-stream",
            content=item.read(),
        )
        for item in uploaded
    ]


@require_POST
def reply(request: HttpRequest, token: str) -> HttpResponseBase:
    case = _case_or_404(token)
    if ratelimit.hit("portal-reply", str(case.pk), window_s=3600) > REPLIES_PER_HOUR:
        messages.error(request, "You have sent many messages in a short time. Please wait a while.")
        return _private(redirect("portal:case", token=token))
    try:
        reply_from_portal(case, text=request.POST.get("text", ""), attachments=_files(request))
    except CherishError as error:
        messages.error(request, error.message)
        return _private(redirect("portal:case", token=token))
    messages.success(request, "Thank you. Your message has been added to your case.")
    return _private(redirect("portal:case", token=token))


@require_POST
def solved(request: HttpRequest, token: str) -> HttpResponseBase:
    case = _case_or_404(token)
    confirm_solved_by_customer(case)
    messages.success(request, "Thank you for letting us know your problem is solved.")
    return _private(redirect("portal:case", token=token))


@require_http_methods(["GET", "HEAD"])
def download(request: HttpRequest, token: str, public_id: str) -> HttpResponseBase:
    case = _case_or_404(token)
    attachment = (
        Attachment.objects.filter(public_id=public_id, message__case=case)
        .exclude(message__direction=Direction.NOTE)
        .first()
    )
    if attachment is None:
        raise Http404
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return _private(response)
