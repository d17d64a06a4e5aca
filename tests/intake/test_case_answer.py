"""The API's answer to a new complaint is written out by hand for speed (intake.api._case_out):
it must be exactly what the CaseOut schema makes of the same case, for every shape of case."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cherish.cases import actions as case_actions
from cherish.cases.models import Case, Stage
from cherish.cases.schemas import CaseOut
from cherish.intake.api import _case_out
from cherish.intake.api_intake import json_text_of

pytestmark = pytest.mark.django_db


def _both(case: Case) -> tuple[str, str]:
    case = Case.objects.select_related("owner__user", "team", "customer").get(pk=case.pk)
    by_hand = json_text_of(_case_out(case))
    by_schema = json_text_of(CaseOut.from_orm(case).model_dump())
    return by_hand, by_schema


def test_the_answer_written_by_hand_is_the_schemas_for_every_shape_of_case(
    agent: Any, customer: Any, complaint: Case
):
    # an open complaint with an owner and a team, no subject
    shapes = [complaint]
    # one with a subject, an order, badges, an inquiry, another channel
    flagged, _ = case_actions.open_case(
        customer,
        text="Where is my order? I will go to the ombudsman.",
        channel="email",
        kind="inquiry",
        subject="Order ünterwegs ✓",
        order_reference="ORD-77",
    )
    Case.objects.filter(pk=flagged.pk).update(badges=["legal", "urgent"], severity="high")
    shapes.append(flagged)
    # one nobody owns, outside any team, closed
    orphan, _ = case_actions.open_case(customer, text="Nobody took this.", channel="phone")
    Case.objects.filter(pk=orphan.pk).update(
        owner=None, team=None, is_open=False, stage=Stage.CLOSED
    )
    shapes.append(orphan)
    for case in shapes:
        by_hand, by_schema = _both(case)
        assert by_hand == by_schema
        assert json.loads(by_hand)["reference"] == case.reference
    assert json.loads(_both(orphan)[0])["owner"] is None


def test_a_triaged_case_is_answered_through_the_schema(agent: Any, complaint: Case):
    Case.objects.filter(pk=complaint.pk).update(
        triage={
            "kind": "complaint",
            "kind_confidence": 0.9,
            "emotion": "anger",
            "topic": "delivery",
        }
    )
    by_hand, by_schema = _both(complaint)
    assert by_hand == by_schema
    assert json.loads(by_hand)["triage"]["emotion"] == "anger"
