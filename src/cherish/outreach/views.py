"""Desk pages for outreach: customer 360, identity, moments, radar, leave reasons; and the
customer's public follow-up answer page. Each view parses, calls an action or query, renders.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

# Export and erase call the one eraser above every app (cherish/privacy.py). These two views
# belong to the customer 360 page, which moves up into cherish/desk/ (issue #9's desk shell);
# until then this is the one upward import in outreach.
from cherish import privacy
from cherish.cases.access import visible_cases
from cherish.core.clock import now
from cherish.core.errors import CherishError
from cherish.core.i18n import use_language
from cherish.customers import actions as customer_actions
from cherish.customers.access import (
    access_customer,
    access_customer_to_work,
    check_may,
    may,
    visible_customers,
)
from cherish.customers.models import (
    CustomerEvent,
    DateKind,
    ImportantDate,
    LeaveReasonKind,
    RelationshipStatus,
)
from cherish.desk.guard import DeskRequest, desk_view
from cherish.outreach import actions, identity, queries
from cherish.outreach.forms import AnswerForm
from cherish.outreach.forms_staff import (
    EraseForm,
    ImportantDateForm,
    MergeForm,
    MomentNoteForm,
    StatusForm,
)
from cherish.outreach.models import FollowUp, FollowUpAnswer
from cherish.outreach.moments import moment_list
from cherish.staff.audit import audit


def _refused(request: HttpRequest, error: CherishError) -> None:
    messages.error(request, error.message)


def _audit_customer(request: DeskRequest, action: str, customer_id: int, **detail: Any) -> None:
    """The audit log's line for an act on a customer's personal data (issue #9: who viewed,
    exported, erased, merged, from where, when); ids only, never the customer's data."""
    audit(
        request,
        action,
        by=request.staff,
        target_type="customer",
        target_id=customer_id,
        detail=detail or None,
    )


# ---------------------------------------------------------------- customer 360


@desk_view
@require_GET
def customer_detail(request: DeskRequest, pk: int) -> HttpResponse:
    customer = access_customer(request.staff, pk)
    if customer.merged_into_id:
        messages.info(
            request, _("This record was merged; showing the customer it was merged into.")
        )
        return redirect("outreach:customer", customer.merged_into_id)
    types = [t for t in request.GET.getlist("type") if t in queries.TIMELINE_TYPES]
    before = parse_datetime(request.GET.get("before", "")) if request.GET.get("before") else None
    cases = visible_cases(request.staff)
    items, cursor = queries.timeline(customer, types=types or None, before=before, cases=cases)
    context: dict[str, Any] = {
        "items": items,
        "cursor": cursor,
        "types": types,
        "type_choices": queries.TIMELINE_TYPES.items(),
    }
    if request.htmx and request.GET.get("partial") == "timeline":
        return render(
            request,
            "outreach/partials/timeline.html",
            {"customer": customer, **context},
            using="jinja2",
        )
    context.update(queries.customer_360(customer, at=now(), cases=cases))
    _audit_customer(request, "customer.viewed", customer.pk)
    context.update(
        may_erase=may(request.staff, "erase"),
        may_export=may(request.staff, "export"),
        may_merge=may(request.staff, "merge"),
    )
    # The three forms (status, date, erase) are written in the template with the fields of
    # StatusForm, ImportantDateForm and EraseForm, which check what is posted: building and
    # rendering them as Django forms was a fifth of the page's CPU at 1M cases (issue #14).
    context.update(
        status_choices=RelationshipStatus.choices,
        leave_reasons=LeaveReasonKind.choices,
        date_kinds=DateKind.choices,
    )
    return render(request, "outreach/customer_detail.html", context, using="jinja2")


@desk_view
@require_POST
def change_status(request: DeskRequest, pk: int) -> HttpResponse:
    customer = access_customer_to_work(request.staff, pk)
    form = StatusForm(request.POST)
    if form.is_valid():
        try:
            customer_actions.change_customer_status(
                customer,
                status=form.cleaned_data["status"],
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
                by=request.staff,
            )
            messages.success(request, _("Relationship status saved."))
        except CherishError as error:
            _refused(request, error)
    else:
        messages.error(request, _("Choose a valid status."))
    return redirect("outreach:customer", customer.pk)


@desk_view
@require_POST
def add_date(request: DeskRequest, pk: int) -> HttpResponse:
    customer = access_customer_to_work(request.staff, pk)
    form = ImportantDateForm(request.POST)
    if form.is_valid():
        customer_actions.add_important_date(customer, by=request.staff, **form.cleaned_data)
        messages.success(request, _("Date saved."))
    else:
        messages.error(request, _("Give a kind of date and a valid date."))
    return redirect("outreach:customer", customer.pk)


@desk_view
@require_POST
def remove_date(request: DeskRequest, pk: int, date_id: int) -> HttpResponse:
    customer = access_customer_to_work(request.staff, pk)
    item = get_object_or_404(ImportantDate, pk=date_id, customer=customer)
    customer_actions.remove_important_date(item, by=request.staff)
    messages.success(request, _("Date removed."))
    return redirect("outreach:customer", customer.pk)


# ---------------------------------------------------------------- identity


@desk_view
@require_GET
def duplicates(request: DeskRequest) -> HttpResponse:
    try:
        number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        number = 1
    page = identity.open_duplicates(page=number, among=visible_customers(request.staff))
    may_merge = may(request.staff, "merge")
    return render(
        request,
        "outreach/duplicates.html",
        {"pairs": page.pairs, "page": page, "may_merge": may_merge},
    )


@desk_view
@require_POST
def dismiss_duplicate(request: DeskRequest) -> HttpResponse:
    form = MergeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the two customers that are different people."))
        return redirect("outreach:duplicates")
    staff = request.staff
    first = access_customer_to_work(staff, form.cleaned_data["survivor"])
    second = access_customer_to_work(staff, form.cleaned_data["duplicate"])
    try:
        customer_actions.dismiss_customer_pair(first, second, by=staff)
    except CherishError as error:
        _refused(request, error)
    else:
        messages.success(
            request,
            _("%(first)s and %(second)s are kept apart and not offered again.")
            % {"first": first, "second": second},
        )
    return redirect("outreach:duplicates")


@desk_view
@require_POST
def merge(request: DeskRequest) -> HttpResponse:
    form = MergeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose two customers to merge."))
        return redirect("outreach:duplicates")
    staff = request.staff
    survivor = access_customer(staff, form.cleaned_data["survivor"])
    duplicate = access_customer(staff, form.cleaned_data["duplicate"])
    check_may(staff, "merge")
    try:
        identity.merge_customers(survivor, duplicate, by=staff)
    except CherishError as error:
        _refused(request, error)
        return redirect("outreach:duplicates")
    _audit_customer(request, "customer.merged", survivor.pk, duplicate_id=duplicate.pk)
    messages.success(
        request,
        _("Merged %(duplicate)s into %(survivor)s. You can undo this below.")
        % {"duplicate": duplicate, "survivor": survivor},
    )
    return redirect("outreach:customer", survivor.pk)


@desk_view
@require_POST
def unmerge(request: DeskRequest, pk: int, event_id: int) -> HttpResponse:
    customer = access_customer(request.staff, pk)
    event = get_object_or_404(CustomerEvent, pk=event_id, customer=customer)
    check_may(request.staff, "merge")
    try:
        restored = identity.unmerge_customers(event, by=request.staff)
    except CherishError as error:
        _refused(request, error)
        return redirect("outreach:customer", customer.pk)
    _audit_customer(request, "customer.unmerged", customer.pk, restored_id=restored.pk)
    messages.success(
        request,
        _("Merge undone: %(customer)s is a separate customer again.") % {"customer": restored},
    )
    return redirect("outreach:customer", customer.pk)


@desk_view
@require_POST
def export(request: DeskRequest, pk: int) -> StreamingHttpResponse:
    customer = access_customer(request.staff, pk)
    check_may(request.staff, "export")
    privacy.record_customer_exported(customer, by=request.staff)
    _audit_customer(request, "customer.exported", customer.pk)
    response = StreamingHttpResponse(
        privacy.export_customer_zip(customer), content_type="application/zip"
    )
    response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.zip"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@desk_view
@require_POST
def erase(request: DeskRequest, pk: int) -> HttpResponse:
    customer = access_customer(request.staff, pk)
    check_may(request.staff, "erase")
    form = EraseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Type ERASE in capitals to confirm."))
        return redirect("outreach:customer", customer.pk)
    try:
        privacy.erase_customer(customer, by=request.staff)
    except CherishError as error:
        _refused(request, error)
    else:
        _audit_customer(request, "customer.erased", customer.pk)
        messages.success(request, _("Personal data erased. Case statistics are kept."))
    return redirect("outreach:customer", customer.pk)


# ---------------------------------------------------------------- moments

MOMENTS_PAGE = 50


@desk_view
@require_GET
def moments(request: DeskRequest) -> HttpResponse:
    staff = request.staff
    show_all = request.GET.get("who") == "all"
    found = moment_list(
        now(), owner_id=None if show_all else staff.pk, among=visible_customers(staff)
    )
    # Pages of MOMENTS_PAGE: at 1M cases a week has the full MAX_MOMENTS, and rendering
    # each one's note form was most of the page's CPU. Each note form is written in the
    # template (MomentNoteForm's fields, ids of its own), not rendered as a Django form.
    # Only the page's moments are written out (moment_list reads the others' keys only).
    page = Paginator(found, MOMENTS_PAGE).get_page(request.GET.get("page"))
    return render(
        request, "outreach/moments.html", {"page": page, "show_all": show_all}, using="jinja2"
    )


@desk_view
@require_POST
def send_note(request: DeskRequest, pk: int) -> HttpResponse:
    customer = access_customer_to_work(request.staff, pk)
    form = MomentNoteForm(request.POST)
    # Back to the list the note was written from (everyone's, its page), not to page 1 of
    # "mine", where the moment may not even be.
    back = {"who": "all"} if request.POST.get("who") == "all" else {}
    if (number := request.POST.get("page", "")).isdigit() and int(number) > 1:
        back["page"] = number
    back_to = reverse("outreach:moments") + (f"?{urlencode(back)}" if back else "")
    if not form.is_valid():
        messages.error(request, _("Write a subject and a note."))
        return redirect(back_to)
    try:
        actions.send_moment_note(customer, by=request.staff, **form.cleaned_data)
    except CherishError as error:
        _refused(request, error)
    else:
        messages.success(
            request, _("Your note to %(customer)s is on its way.") % {"customer": customer}
        )
    return redirect(back_to)


# ---------------------------------------------------------------- radar


@desk_view
@require_GET
def radar(request: DeskRequest) -> HttpResponse:
    try:
        number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        number = 1
    page = queries.radar_page(page=number, among=visible_customers(request.staff))
    return render(request, "outreach/radar.html", {"page": page})


@desk_view
@require_POST
def reach_out(request: DeskRequest, pk: int) -> HttpResponse:
    customer = access_customer_to_work(request.staff, pk)
    try:
        case = actions.reach_out_from_radar(customer, by=request.staff)
    except CherishError as error:
        _refused(request, error)
        return redirect("outreach:radar")
    messages.success(
        request,
        _("Outreach case %(reference)s opened for %(owner)s.")
        % {"reference": case.reference, "owner": case.owner},
    )
    return redirect("outreach:radar")


# ---------------------------------------------------------------- leave reasons


@desk_view
@require_GET
def leave_reasons(request: DeskRequest) -> HttpResponse:
    rows = queries.leave_reason_report()
    return render(
        request,
        "outreach/leave_reasons.html",
        {
            "rows": rows,
            "total": sum(r["count"] for r in rows),
            "left": queries.left_customers(among=visible_customers(request.staff)),
        },
    )


@desk_view
@require_POST
def win_back(request: DeskRequest, pk: int) -> HttpResponse:
    customer = access_customer_to_work(request.staff, pk)
    try:
        case = actions.start_win_back(customer, by=request.staff)
    except CherishError as error:
        _refused(request, error)
    else:
        messages.success(
            request, _("Win-back case %(reference)s opened.") % {"reference": case.reference}
        )
    return redirect("outreach:leave-reasons")


# ---------------------------------------------------------------- the customer's answer


@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    """The one-click answer link from a follow-up email.

    A GET only shows the choice with a confirm button: mail scanners open every link in a
    message, and a prefetch must never answer "no" on the customer's behalf.
    """
    found = actions.read_answer_token(token)
    if found is None:
        raise Http404("This link is not valid any more.")
    pk, choice = found
    follow_up = get_object_or_404(
        FollowUp.objects.select_related("rule", "transaction", "customer"), pk=pk
    )
    use_language(request, follow_up.customer.language)
    form = AnswerForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            follow_up = actions.answer_follow_up(
                follow_up, answer=choice, comment=form.cleaned_data["comment"]
            )
        except CherishError as error:
            raise Http404(error.message) from None
        return render(request, "outreach/answer_thanks.html", {"follow_up": follow_up})
    return render(
        request,
        "outreach/answer.html",
        {
            "follow_up": follow_up,
            "choice": FollowUpAnswer(choice),
            "form": form,
            "ask_more": choice != FollowUpAnswer.YES,
        },
    )
