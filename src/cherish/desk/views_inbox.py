"""The desk inbox: views of the open cases, filters and search, one page at a time.

It sits in desk, the top layer, because its views and columns draw on every app below
(cases' ownership, care's clocks and targets). Thin: parse the filters, call
``desk.queries``, render; HTMX asks for the results partial, a plain GET gets the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import slugify, timesince_filter
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]
from django.views.decorators.http import require_GET

from cherish.cases.models import Case, Channel, Kind, Severity, Stage
from cherish.desk import queries
from cherish.desk.guard import DeskRequest, desk_view


def _is_partial(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    if not htmx:
        return False
    return not htmx.history_restore_request


# -- inbox ----------------------------------------------------------------------------------


def _tabs(filters: queries.InboxFilters) -> list[dict[str, Any]]:
    return [
        {
            "label": label,
            "query": urlencode(filters.as_params(view=key, page=1, q="")),
            "current": not filters.q and filters.view == key,
        }
        for key, label in queries.INBOX_VIEWS.items()
    ]


_KIND_LABELS = dict(Kind.choices)
_SEVERITY_LABELS = dict(Severity.choices)
_STAGE_LABELS = dict(Stage.choices)
_LOUD_SEVERITIES = {Severity.HIGH.value, Severity.CRITICAL.value}
_REFERENCE_SLOT = "CH-000000"


@dataclass(frozen=True, slots=True)
class InboxRow:
    """One inbox line, worked out once in Python: the template only prints it (50 rows of
    template lookups, display lookups and URL reversing were most of the inbox's time)."""

    url: str
    reference: str
    kind: str
    kind_label: str
    severity: str
    severity_label: str  # empty unless the severity deserves a badge
    badges: list[tuple[str, str]]
    customer_name: str
    subject: str
    has_owner: bool
    owner_name: str
    stage_label: str
    is_open: bool
    updated_iso: str
    updated_ago: str


def inbox_rows(cases: list[Case]) -> list[InboxRow]:
    """The same text the per-row template tags and filters produced, computed directly."""
    url_pattern = reverse("cases:detail", args=[_REFERENCE_SLOT])
    rows = []
    for case in cases:
        updated = template_localtime(case.updated_at)
        rows.append(
            InboxRow(
                url=url_pattern.replace(_REFERENCE_SLOT, case.reference),
                reference=case.reference,
                kind=case.kind,
                kind_label=str(_KIND_LABELS.get(case.kind, case.kind)),
                severity=case.severity,
                severity_label=(
                    str(_SEVERITY_LABELS.get(case.severity, case.severity))
                    if case.severity in _LOUD_SEVERITIES
                    else ""
                ),
                badges=[(slugify(badge), badge) for badge in case.badges],
                customer_name=case.customer.name or "(no name given)",
                subject=case.subject or "—",
                has_owner=case.owner is not None,
                owner_name=case.owner.display_name if case.owner else "",
                stage_label=str(_STAGE_LABELS.get(case.stage, case.stage)),
                is_open=case.is_open,
                updated_iso=date_filter(updated, "c"),
                updated_ago=timesince_filter(case.updated_at),
            )
        )
    return rows


@require_GET
@desk_view
def inbox(request: DeskRequest) -> HttpResponse:
    staff = request.staff
    filters = queries.InboxFilters.from_params(request.GET)
    page = queries.inbox_for(staff, filters)
    context = {
        "page": page,
        "rows": inbox_rows(page.cases),
        "filters": filters,
        "tabs": _tabs(filters),
        "kinds": Kind.choices,
        "stages": Stage.choices,
        "channels": Channel.choices,
        "previous_query": urlencode(filters.as_params(page=page.page - 1)),
        "next_query": urlencode(filters.as_params(page=page.page + 1)),
        "view_label": queries.INBOX_VIEWS[filters.view],
    }
    template = "desk/partials/inbox_results.html" if _is_partial(request) else "desk/inbox.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response
