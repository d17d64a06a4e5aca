"""The built-in surveys for flushed databases, and survey answers for `cherish demo`."""

from __future__ import annotations

import datetime as dt
import importlib
import random
from collections.abc import Sequence
from typing import Any

from django.apps import apps as django_apps
from django.db import transaction

from cherish.cases.models import Case
from cherish.core.clock import now
from cherish.customers.models import Customer
from cherish.feedback.actions import loyalty_level, raving_fan
from cherish.feedback.models import (
    Answer,
    CustomerFeedback,
    Invitation,
    InvitationStatus,
    Measure,
    Question,
    Survey,
    SurveyResponse,
    nps_group,
)

COMMENTS = [
    "Quick and kind, thank you.",
    "It took far too long and I had to explain it twice.",
    "{name} sorted it out in one call. Brilliant.",
    "Fine in the end.",
    "Nobody called me back when promised.",
]


def seed_builtin_surveys() -> None:
    """(Re)create what migration 0002 seeds: the three surveys and the policy. Idempotent."""
    module = importlib.import_module("cherish.feedback.migrations.0002_seed_builtin_surveys")
    module.seed(django_apps, None)


def _questions(key: str) -> dict[str, Question]:
    return {q.measure: q for q in Question.objects.filter(survey__key=key) if q.measure}


def load_demo(
    *, cases: Sequence[Case], customers: Sequence[Customer], rng: random.Random, **_: Any
) -> None:
    """Answers to the three surveys, spread over the demo's six months, so the scorecard and
    the customer pages have something to show. Bulk writes; times chosen, not "now"."""
    at = now()
    seed_builtin_surveys()
    surveys = {s.key: s for s in Survey.objects.all()}
    after, relationship, expectations = (
        _questions("after-case"),
        _questions("relationship"),
        _questions("expectations"),
    )
    plans: list[tuple[Invitation, dict[str, Any] | None]] = []
    for case in Case.objects.filter(pk__in=[c.pk for c in cases], is_open=False).select_related(
        "owner"
    ):
        if case.kind not in ("complaint", "inquiry") or case.closed_at is None:
            continue
        sent = case.closed_at + dt.timedelta(hours=1)
        invitation = Invitation(
            survey=surveys["after-case"],
            customer_id=case.customer_id,
            case=case,
            status=InvitationStatus.SENT,
            created_at=sent,
            expires_at=sent + dt.timedelta(days=30),
            sent_to="demo@example.com",
        )
        if rng.random() < 0.55:
            good = rng.random() < 0.7
            csat = rng.choice([4, 5, 5]) if good else rng.choice([1, 2, 3])
            name = case.owner.display_name.split(" ")[0] if case.owner else "Someone"
            values = {
                Measure.CSAT: csat,
                Measure.RESOLVED: 0 if good else rng.choice([1, 2]),
                Measure.FAIR: min(5, csat + rng.choice([-1, 0, 0])) or 1,
                Measure.CARED: min(5, max(1, csat + rng.choice([-1, 0, 1]))),
                Measure.WOULD_STAY: 0 if good else rng.choice([1, 2]),
            }
            if rng.random() < 0.3:
                values[Measure.COMMENT] = rng.choice(COMMENTS).format(name=name)
            plans.append(
                (
                    invitation,
                    {
                        "at": sent + dt.timedelta(hours=rng.randint(1, 60)),
                        "values": values,
                        "questions": after,
                        "case": case,
                    },
                )
            )
        else:
            plans.append((invitation, None))
    for index, customer in enumerate(customers):
        if rng.random() < 0.45:
            sent = at - dt.timedelta(days=rng.randint(1, 180), hours=rng.randint(0, 23))
            invitation = Invitation(
                survey=surveys["relationship"],
                customer=customer,
                status=InvitationStatus.SENT,
                created_at=sent,
                expires_at=sent + dt.timedelta(days=30),
                sent_to="demo@example.com",
            )
            if rng.random() < 0.5:
                nps = rng.choice([10, 10, 9, 9, 9, 8, 8, 7, 6, 5, 3, 0])
                warm = nps >= 8
                values = {Measure.NPS: nps}
                for measure in (
                    Measure.RAVING_PERFECT,
                    Measure.RAVING_WORLD,
                    Measure.CONFIDENCE,
                    Measure.FAIRNESS,
                    Measure.PRIDE,
                    Measure.PASSION,
                ):
                    values[measure] = rng.choice([4, 5, 5, 3]) if warm else rng.choice([1, 2, 3, 4])
                plans.append(
                    (
                        invitation,
                        {
                            "at": sent + dt.timedelta(hours=rng.randint(1, 48)),
                            "values": values,
                            "questions": relationship,
                        },
                    )
                )
            else:
                plans.append((invitation, None))
        if index % 6 == 0:  # one customer in six told us what they expect
            sent = at - dt.timedelta(days=rng.randint(1, 180))
            invitation = Invitation(
                survey=surveys["expectations"],
                customer=customer,
                status=InvitationStatus.SENT,
                created_at=sent,
                expires_at=sent + dt.timedelta(days=30),
                sent_to="demo@example.com",
            )
            values = {
                Measure.EXPECT_COMPLAINT: rng.choice([1, 2, 2, 3, 3, 3, 5, 7]),
                Measure.EXPECT_REFUND: rng.choice([3, 5, 5, 7, 10]),
                Measure.EXPECT_REPAIR: rng.choice([5, 7, 10, 14]),
            }
            plans.append(
                (
                    invitation,
                    {
                        "at": sent + dt.timedelta(hours=rng.randint(1, 48)),
                        "values": values,
                        "questions": expectations,
                    },
                )
            )
    with transaction.atomic():
        _write(plans)


def _choice(plan: dict[str, Any], measure: str) -> str:
    question = plan["questions"].get(measure)
    value = plan["values"].get(measure)
    if question is None or value is None or not question.choices:
        return ""
    return str(question.choices[value])


def _write(plans: list[tuple[Invitation, dict[str, Any] | None]]) -> None:
    for invitation, plan in plans:
        if plan is not None:
            invitation.status = InvitationStatus.ANSWERED
            invitation.answered_at = plan["at"]
    Invitation.objects.bulk_create([i for i, _ in plans], batch_size=500)
    responses: list[SurveyResponse] = []
    answers: list[tuple[SurveyResponse, Question, int | None, str]] = []
    latest: dict[int, SurveyResponse] = {}
    for invitation, plan in plans:
        if plan is None:
            continue
        values: dict[str, Any] = plan["values"]
        case: Case | None = plan.get("case")
        when: dt.datetime = plan["at"]
        response = SurveyResponse(
            invitation=invitation,
            survey_id=invitation.survey_id,
            customer_id=invitation.customer_id,
            case=case,
            owner_id=case.owner_id if case else None,
            team_id=case.team_id if case else None,
            case_kind=case.kind if case else "",
            case_channel=case.channel if case else "",
            topic=str((case.triage or {}).get("topic") or "")[:40] if case else "",
            resolved=_choice(plan, Measure.RESOLVED),
            would_stay=_choice(plan, Measure.WOULD_STAY),
            csat=values.get(Measure.CSAT),
            nps=values.get(Measure.NPS),
            fair=values.get(Measure.FAIR),
            cared=values.get(Measure.CARED),
            raving_fan=raving_fan(values),
            loyalty_level=loyalty_level(values),
            comment=values.get(Measure.COMMENT, ""),
            created_at=when,
            updated_at=when,
            editable_until=when + dt.timedelta(days=7),
        )
        responses.append(response)
        for measure, value in values.items():
            question = plan["questions"].get(measure)
            if question is None:
                continue
            if isinstance(value, str):
                answers.append((response, question, None, value))
            elif question.choices:
                answers.append((response, question, value, question.choices[value]))
            else:
                answers.append((response, question, value, ""))
        previous = latest.get(invitation.customer_id)
        if previous is None or previous.created_at < when:
            latest[invitation.customer_id] = response
    SurveyResponse.objects.bulk_create(responses, batch_size=500)
    Answer.objects.bulk_create(
        [
            Answer(
                response=r,
                question=q,
                value_int=i,
                value_text=t,
                answered_at=r.created_at,
            )
            for r, q, i, t in answers
        ],
        batch_size=1000,
    )
    states = []
    for customer_id, response in latest.items():
        mine = [r for r in responses if r.customer_id == customer_id]
        with_nps = max(
            (r for r in mine if r.nps is not None), key=lambda r: r.created_at, default=None
        )
        with_csat = max(
            (r for r in mine if r.csat is not None), key=lambda r: r.created_at, default=None
        )
        states.append(
            CustomerFeedback(
                customer_id=customer_id,
                nps=with_nps.nps if with_nps else None,
                nps_group=nps_group(with_nps.nps) if with_nps else "",
                nps_at=with_nps.created_at if with_nps else None,
                loyalty_level=with_nps.loyalty_level if with_nps else "",
                raving_fan=with_nps.raving_fan if with_nps else None,
                loyalty_at=with_nps.created_at if with_nps else None,
                last_csat=with_csat.csat if with_csat else None,
                last_answered_at=response.created_at,
            )
        )
    CustomerFeedback.objects.bulk_create(states, ignore_conflicts=True, batch_size=500)
