"""The scorecard's sums computed from scratch, without any roll-up table.

Slow and simple on purpose: the test (and ``rebuild_scorecard --check``) compares every cube
cell a filter can reach with this, so the roll-ups can never drift from the rows they sum.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from cherish.cases.models import Case, Kind
from cherish.feedback.models import Invitation, InvitationStatus, SurveyResponse
from cherish.scorecard.figures import Filters, Totals, Window, empty_totals
from cherish.scorecard.models import ALL, RESOLUTION_BUCKETS
from cherish.scorecard.rollups import compute_facts, dim, silent_problems, week_of


def _matches(filters: Filters, values: dict[str, str]) -> bool:
    return all(want == ALL or values[name] == want for name, want in filters.cube().items())


class Scratch:
    """The source rows read once; ``totals`` sums them for any filter and window."""

    def __init__(self, *, at: dt.datetime) -> None:
        self.facts = compute_facts(list(Case.objects.values_list("pk", flat=True)), at=at)
        self.responses = list(SurveyResponse.objects.all())
        self.invitations = list(
            Invitation.objects.filter(
                status__in=(InvitationStatus.SENT, InvitationStatus.ANSWERED)
            ).select_related("case")
        )
        self.silent = silent_problems(None, at=at)

    def totals(self, filters: Filters, window: Window) -> Totals:
        return _totals(self, filters, window)


def totals_from_scratch(filters: Filters, window: Window, *, at: dt.datetime) -> Totals:
    return Scratch(at=at).totals(filters, window)


def _totals(scratch: Scratch, filters: Filters, window: Window) -> Totals:
    t = empty_totals()

    def inside(week: dt.date | None) -> bool:
        return week is not None and window.start <= week <= window.last_week

    for f in scratch.facts:
        dims = {"team": f.team, "channel": f.channel, "kind": f.kind, "topic": f.topic}
        if not _matches(filters, dims):
            continue
        complaint = f.kind == Kind.COMPLAINT
        if inside(f.created_week):
            t["received"] += 1
            t["complaints"] += complaint
            t["repeat_complaints"] += f.repeat_complaint
            if f.first_response_s is not None:
                t["first_response_n"] += 1
                t["first_response_s"] += f.first_response_s
        if inside(f.known_week):
            t["recovery_known"] += 1
            t["retained"] += f.retained
            t["value_retained"] += f.value_at_stake if f.retained else Decimal(0)
        if inside(f.closed_week):
            t["closed"] += 1
            t["closed_complaints"] += complaint
            t["one_owner"] += f.owners <= 1
            t["one_owner_no_repeat"] += f.owners <= 1 and f.repeats == 0
            for name in (
                "contacts",
                "replies",
                "tone_hits",
                "commitments",
                "commitments_kept",
                "commitments_on_time",
                "commitments_broken",
                "gestures",
                "gesture_value",
                "exceptions",
            ):
                t[name] += getattr(f, name)
            t["follow_up_before_close"] += f.follow_up_before_close
            t["well_recovered"] += f.well_recovered
            for n in RESOLUTION_BUCKETS:
                t[f"res_le_{n}"] += (
                    complaint and f.resolution_days is not None and f.resolution_days <= n
                )
    for r in scratch.responses:
        dims = {
            "team": dim(r.team_id),
            "channel": dim(r.case_channel),
            "kind": dim(r.case_kind),
            "topic": dim(r.topic),
        }
        if not inside(week_of(r.created_at)) or not _matches(filters, dims):
            continue
        t["responses"] += 1
        if r.csat is not None:
            t["csat_n"] += 1
            t["csat_sum"] += r.csat
            t["csat_satisfied"] += r.csat >= 4
        if r.cared is not None:
            t["cared_n"] += 1
            t["cared_agree"] += r.cared >= 4
        if r.nps is not None:
            t["nps_n"] += 1
            t["promoters"] += r.nps >= 9
            t["detractors"] += r.nps <= 6
        if r.raving_fan is not None:
            t["raving_n"] += 1
            t["raving_yes"] += bool(r.raving_fan)
        if r.loyalty_level:
            t[f"loyalty_{r.loyalty_level}"] += 1
    for invitation in scratch.invitations:
        case = invitation.case
        dims = {
            "team": dim(case.team_id if case else None),
            "channel": dim(case.channel if case else None),
            "kind": dim(case.kind if case else None),
            "topic": dim(str((case.triage or {}).get("topic") or "") if case else None),
        }
        if inside(week_of(invitation.created_at)) and _matches(filters, dims):
            t["invitations"] += 1
    if filters.is_everything:
        for week, (known, retained) in scratch.silent.items():
            if inside(week):
                t["silent_known"] += known
                t["silent_retained"] += retained
    return t
