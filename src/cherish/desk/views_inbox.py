"""The desk inbox: views with counts, filters, sort and search, one page at a time; "Take it",
bulk changes and saved views.

It sits in desk, the top layer, because its views and columns draw on every app below
(cases' ownership, care's clocks and targets). Thin: parse, call ``desk.queries`` or the
cases/care actions, render. HTMX asks for the results partial, a plain GET gets the page;
every form works as a plain POST too (only the keyboard shortcuts need JavaScript).
"""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass
from html import escape as _escape  # Django's escape() less its lazy-text wrapper
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.defaultfilters import slugify, timesince_filter
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.dates import MONTHS_3
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_POST

from cherish.care import actions as care_actions
from cherish.care.clocks import TargetClock, humanise_business_minutes
from cherish.cases import actions as case_actions
from cherish.cases.access import access_case_to_work, check_may_work
from cherish.cases.models import Case, Channel, Kind, Severity, Stage
from cherish.core.errors import CherishError, Forbidden, NotFound
from cherish.desk import actions_inbox as desk_actions
from cherish.desk import queries, views_live
from cherish.desk.forms_inbox import BulkAction, BulkForm, SavedViewForm
from cherish.desk.guard import DeskRequest, desk_view, record_refusal
from cherish.desk.templatetags.desk_badges import badge_label
from cherish.staff.models import Staff


def _is_partial(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    if not htmx:
        return False
    return not htmx.history_restore_request


_KIND_LABELS = dict(Kind.choices)
_SEVERITY_LABELS = dict(Severity.choices)
_STAGE_LABELS = dict(Stage.choices)
_LOUD_SEVERITIES = {Severity.HIGH.value, Severity.CRITICAL.value}
_REFERENCE_SLOT = "CH-000000"


def _breach(clock: TargetClock | None) -> tuple[str, str]:
    """The next breach in business time: "in 2 h 5 min" or "1 h over" (first reply / fix)."""
    if clock is None or not clock.target_minutes:
        return "", ""
    what = _("reply") if clock.name == "first_response" else _("fix")
    left = clock.target_minutes - clock.elapsed_minutes
    if left <= 0:
        return "breached", _("%(what)s %(time)s over") % {
            "what": what,
            "time": humanise_business_minutes(-left),
        }
    return clock.status, _("%(what)s in %(time)s") % {
        "what": what,
        "time": humanise_business_minutes(left),
    }


def inbox_rows(
    cases: list[Case], clocks: dict[int, TargetClock], *, news: Container[str]
) -> SafeString:
    """The inbox's table rows as HTML, written here rather than by a template: 50 rows of
    variable nodes, ``{% include %}``, ``{% url %}`` and ``{% blocktranslate %}`` were most
    of the inbox's CPU (bench/README.md, "The inbox's CPU after the #13 rebuild"). Every
    value is escaped; the per-page words are translated once, not once a row."""
    case_url = reverse("cases:detail", args=[_REFERENCE_SLOT])
    take_url = reverse("desk:take", args=[_REFERENCE_SLOT])
    unassigned = _escape(_("Unassigned"))
    take_it = _escape(_("Take it"))
    select = _("Select %(ref)s")
    ago = _("%(ago)s ago")
    # Translated once (str) and escaped once: the rows only look them up.
    kind_labels = {key: _escape(str(label)) for key, label in _KIND_LABELS.items()}
    severity_labels = {key: _escape(str(label)) for key, label in _SEVERITY_LABELS.items()}
    stage_labels = {key: _escape(str(label)) for key, label in _STAGE_LABELS.items()}
    months = [""] + [str(MONTHS_3[month]).title() for month in range(1, 13)]
    # As desk/partials/unread_dot.html writes it: the news poll swaps that one in place of
    # this (tests/desk/test_views_live.py holds the two equal).
    new_since = _escape(_("New since you last opened it"))
    dot = (
        f'<span class="unread-dot" data-news title="{new_since}"></span>'
        f'<span class="visually-hidden">{new_since}</span>'
    )
    badge_spans: dict[str, str] = {}
    parts = []
    for case in cases:
        ref = _escape(case.reference)
        url = _escape(case_url.replace(_REFERENCE_SLOT, case.reference))
        kind = _escape(case.kind)
        badges = f'<span class="badge badge-{kind}">{kind_labels.get(case.kind) or kind}</span>\n'
        if case.severity in _LOUD_SEVERITIES:
            badges += (
                f'                <span class="badge badge-{_escape(case.severity)}">'
                f"{severity_labels[case.severity]}</span>"
            )
        for badge in case.badges:
            if badge not in badge_spans:
                slug, label = _escape(slugify(badge)), _escape(str(badge_label(badge)))
                badge_spans[badge] = f'<span class="badge badge-{slug}">{label}</span>'
        badges += "\n                " + "".join(badge_spans[badge] for badge in case.badges)
        owner = case.owner
        who = _escape(owner.display_name) if owner else f'<span class="badge">{unassigned}</span>'
        take = ""
        if case.is_open and case.owner_id is None:
            take = (
                f'<button type="submit" class="button small" formaction="'
                f'{_escape(take_url.replace(_REFERENCE_SLOT, case.reference))}" data-take>'
                f"{take_it}</button>"
            )
        stage = stage_labels.get(case.stage) or _escape(case.stage)
        if not case.is_open:
            stage = f'<span class="badge badge-closed">{stage}</span>'
        opened = template_localtime(case.created_at)
        updated = template_localtime(case.updated_at)
        status, text = _breach(clocks.get(case.pk))
        breach = (
            f'<span class="breach breach-{status}">{_escape(text)}</span>'
            if text
            else '<span class="muted">—</span>'
        )
        parts.append(
            f'<tr data-inbox-row data-url="{url}" id="row-{ref}">\n'
            f'            <td><input type="checkbox" name="cases" value="{ref}" id="pick-{ref}"'
            f' aria-label="{select % {"ref": ref}}"></td>\n'
            f"            <td>\n"
            f'              <span class="news-mark" id="news-{ref}">'
            f"{dot if case.reference in news else ''}</span>\n"
            f'<a class="inbox-row-ref" href="{url}">{ref}</a>\n'
            f'              <div class="badges">\n'
            f"                {badges}\n"
            f"              </div>\n"
            f"            </td>\n"
            f"            <td>{_escape(case.customer.name or '(no name given)')}</td>\n"
            f'            <td class="inbox-subject">{_escape(case.subject or "—")}</td>\n'
            f"            <td>{who}\n"
            f"              {take}</td>\n"
            f"            <td>{stage}</td>\n"
            f'            <td><time datetime="{opened.isoformat()}">'
            f"{opened.day} {months[opened.month]} {opened.year:04d}</time></td>\n"
            f'            <td><time datetime="{updated.isoformat()}">'
            f"{ago % {'ago': _escape(timesince_filter(case.updated_at))}}</time></td>\n"
            f"            <td>{breach}</td>\n"
            f"          </tr>"
        )
    return mark_safe("\n          ".join(parts))  # every value above is escaped


# Marked here, translated when the page is built (the reader's language).
_COLUMNS = [
    ("reference", gettext_noop("Case")),
    ("customer", gettext_noop("Customer")),
    ("subject", gettext_noop("About")),
    ("owner", gettext_noop("Owner")),
    ("stage", gettext_noop("Stage")),
    ("opened", gettext_noop("Opened")),
    ("updated", gettext_noop("Updated")),
]


def _columns(filters: queries.InboxFilters) -> list[dict[str, Any]]:
    """Table headers as sort links: a click sorts by the column, a second click reverses."""
    columns = []
    for key, label in _COLUMNS:
        current = filters.sort.lstrip("-") == key
        descending = filters.sort.startswith("-")
        next_sort = f"-{key}" if current and not descending else key
        columns.append(
            {
                "label": _(label),
                "query": urlencode(filters.as_params(sort=next_sort, page=1)),
                "sort": ("descending" if descending else "ascending") if current else "",
            }
        )
    return columns


def _tabs(filters: queries.InboxFilters, counts: dict[str, queries.Count]) -> list[dict[str, Any]]:
    return [
        {
            "key": key,
            "label": label,
            "count": counts[key],
            "query": urlencode(filters.as_params(view=key, page=1, q="")),
            "current": not filters.q and filters.view == key,
        }
        for key, label in queries.INBOX_VIEWS.items()
    ]


def _saved_query(params: dict[str, str]) -> str:
    """A saved view's address, its parameters in the inbox's own order (PostgreSQL's jsonb
    does not keep the order they were saved in)."""
    return urlencode(queries.InboxFilters.from_params(params).saved_params)


def _inbox_context(request: DeskRequest, filters: queries.InboxFilters) -> dict[str, Any]:
    staff = request.staff
    page = queries.inbox_for(staff, filters)
    counts = queries.view_counts(staff)
    here = request.get_full_path()
    live = views_live.inbox_live_context(staff, page.cases)
    return {
        "page": page,
        "rows": inbox_rows(page.cases, page.clocks, news=live["news"]),
        "filters": filters,
        "tabs": _tabs(filters, counts),
        "columns": _columns(filters),
        "kinds": Kind.choices,
        "stages": Stage.choices,
        "channels": Channel.choices,
        **queries.filter_choices(),
        "saved_views": [
            {"view": saved, "query": _saved_query(saved.params)}
            for saved in queries.saved_views_of(staff)
        ],
        "bulk_actions": BulkAction.choices,
        "previous_query": urlencode(filters.as_params(page=page.page - 1)),
        "next_query": urlencode(filters.as_params(page=page.page + 1)),
        "view_label": queries.INBOX_VIEWS[filters.view],
        "here": here,
        "page_size": queries.PAGE_SIZE,
        **live,
    }


@require_GET
@desk_view
def inbox(request: DeskRequest) -> HttpResponse:
    filters = queries.InboxFilters.from_params(request.GET)
    context = _inbox_context(request, filters)
    template = "desk/partials/inbox_results.html" if _is_partial(request) else "desk/inbox.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _back(request: HttpRequest) -> str:
    """Where to return after a POST: the inbox address the form came from."""
    target = str(request.POST.get("next") or "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("desk:inbox")


# -- take it and bulk changes ---------------------------------------------------------------


@require_POST
@desk_view
def take(request: DeskRequest, reference: str) -> HttpResponse:
    """ "Take it" on one row: the case becomes the agent's (cases.actions.take_case)."""
    staff = request.staff
    case = access_case_to_work(staff, reference)
    try:
        case_actions.take_case(case, by=staff)
    except Forbidden:
        raise
    except CherishError as error:
        messages.error(request, f"{case.reference}: {error.message}")
    else:
        messages.success(request, _("%(ref)s is yours now.") % {"ref": case.reference})
    return redirect(_back(request))


@dataclass(frozen=True)
class RowResult:
    reference: str
    ok: bool
    message: str


def _bulk_step(form: BulkForm, staff: Staff) -> Callable[[Case], object]:
    data = form.cleaned_data
    match data["action"]:
        case BulkAction.ASSIGN:
            to: Staff = data["to"]
            return lambda case: case_actions.reassign_case(case, to=to, note=data["text"], by=staff)
        case BulkAction.KIND:
            return lambda case: case_actions.change_kind(case, kind=data["kind"], by=staff)
        case BulkAction.NOTE:
            return lambda case: case_actions.add_internal_note(case, text=data["text"], by=staff)
        case BulkAction.CLOSE:
            return lambda case: care_actions.advance_stage(
                case, Stage.CLOSED, by=staff, reason=data["text"]
            )
        case _:
            return lambda case: case_actions.take_case(case, by=staff)


def apply_bulk(request: DeskRequest, form: BulkForm) -> list[RowResult]:
    """Run one action on every selected case, each through its own action (its checks, its
    events, its own transaction), and say per case what happened: a refusal on one case
    never undoes or hides another's change. Another team's case is refused ('read_only')
    and audited like a refused page."""
    staff = request.staff
    references: list[str] = form.cleaned_data["cases"]
    found = queries.bulk_cases(staff, references)
    step = _bulk_step(form, staff)
    results = []
    for reference in references:
        case = found.get(reference)
        if case is None:
            results.append(RowResult(reference, False, _("No such case.")))
            continue
        try:
            check_may_work(staff, case)
            with transaction.atomic():
                step(case)
        except Forbidden as error:
            record_refusal(request, error, target=reference)
            results.append(RowResult(reference, False, error.message))
        except CherishError as error:
            results.append(RowResult(reference, False, error.message))
        else:
            results.append(RowResult(reference, True, _("Done.")))
    return results


@require_POST
@desk_view
def bulk(request: DeskRequest) -> HttpResponse:
    """Bulk assign / change kind / add note / close / take: PRG with a per-case report."""
    form = BulkForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect(_back(request))
    results = apply_bulk(request, form)
    done = [r for r in results if r.ok]
    failed = [r for r in results if not r.ok]
    if done:
        messages.success(
            request,
            _("%(done)d of %(total)d cases changed.") % {"done": len(done), "total": len(results)},
        )
    for result in failed:
        messages.error(request, f"{result.reference}: {result.message}")
    return redirect(_back(request))


# -- saved views ----------------------------------------------------------------------------


@require_POST
@desk_view
def save_view(request: DeskRequest) -> HttpResponse:
    """Save the current view, filters and sort under a name of the agent's own."""
    form = SavedViewForm(request.POST)
    back = _back(request)
    if not form.is_valid():
        messages.error(request, str(form.errors["name"][0]))
        return redirect(back)
    query = back.split("?", 1)[1] if "?" in back else ""
    filters = queries.InboxFilters.from_params(QueryDict(query))
    try:
        saved = desk_actions.save_inbox_view(
            request.staff, name=form.cleaned_data["name"], params=filters.saved_params
        )
    except CherishError as error:
        messages.error(request, error.message)
        return redirect(back)
    messages.success(request, _("View “%(name)s” saved.") % {"name": saved.name})
    return redirect(f"{reverse('desk:inbox')}?{_saved_query(saved.params)}")


@require_POST
@desk_view
def delete_view(request: DeskRequest, view_id: int) -> HttpResponse:
    """Delete one of the agent's own saved views (another's is simply not found)."""
    if not desk_actions.delete_inbox_view(request.staff, view_id=view_id):
        raise NotFound(_("No such saved view."))
    messages.success(request, _("View deleted."))
    return redirect(_back(request))
