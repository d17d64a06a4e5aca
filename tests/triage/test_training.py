"""`cherish triage train` learns from every field staff corrected, not only kind and topic."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from cherish.cases import actions as case_actions
from cherish.cases.models import Case
from cherish.triage import loader
from cherish.triage.actions import add_flag, correct_triage
from cherish.triage.models import Correction, ModelVersion
from cherish.triage.tasks import triage_message

SAID_LEAVING = [
    "I'm off to SparkNet next month, sort out my final bill.",
    "We're off to SparkNet when our contract ends.",
    "Off to SparkNet, they answer the phone at least.",
]


def _read(customer, text: str) -> Case:
    case, message = case_actions.open_case(customer, text=text, channel="web")
    triage_message(message.pk)
    case.refresh_from_db()
    return case


@pytest.fixture(autouse=True)
def _fresh_loader():
    loader.reset()
    yield
    loader.reset()


@pytest.mark.slow
def test_train_learns_flags_and_emotion_from_staff_corrections(agent, customer, tmp_path):
    # given: the shipped model misses this way of saying "I'm leaving"; staff flag it by hand
    for text in SAID_LEAVING:
        case = _read(customer, text)
        assert "leaving" not in case.badges
        add_flag(case, flag="leaving", reason="He is moving to SparkNet.", by=agent)
    blank = _read(customer, "Please send the invoice again, the last one was blank.")
    assert blank.triage["emotion"] != "worry"
    correct_triage(blank, field="emotion", value="worry", by=agent)
    # when
    out = io.StringIO()
    call_command(
        "triage", "train", "--out", str(tmp_path / "model"), "--fields", "learned", stdout=out
    )
    # then: every correction was used and the running process switches to the new model
    version = ModelVersion.objects.get()
    assert f"Trained {version.version} with 4 of 4 staff corrections" in out.getvalue()
    assert "learned overrides: emotion, flag:leaving" in out.getvalue()
    assert set(Correction.objects.values_list("used_in_model", flat=True)) == {version.version}
    case = _read(customer, "Off to SparkNet then. Final bill please.")
    assert "leaving" in case.badges
    assert case.signals["flags"]["leaving"]["words"] == ["learned from staff corrections"]
    again = _read(customer, "Please send the invoice again, the last one was blank.")
    assert again.triage["emotion"] == "worry"
    # and texts unlike the corrected ones read as before
    calm = _read(customer, "Could you tell me your opening hours on Sunday?")
    assert calm.triage["flags"] == [] and calm.triage["emotion"] == "neutral"
