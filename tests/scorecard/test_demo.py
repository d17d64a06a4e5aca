"""`cherish demo` includes survey answers and a built scorecard, so the desk shows a living one."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command
from django.test import Client

from cherish.feedback.models import Answer, SurveyResponse
from cherish.scorecard.models import CaseFact, RollupState


def test_demo_has_answers_and_a_living_scorecard(transactional_db):
    out = StringIO()
    call_command("demo", "--customers", "40", "--cases", "80", stdout=out)
    assert "Rolling up the scorecard" in out.getvalue()
    assert SurveyResponse.objects.filter(csat__isnull=False).exists()
    assert SurveyResponse.objects.filter(nps__isnull=False).exists()
    assert Answer.objects.filter(question__measure="expect_complaint_days").exists()
    assert CaseFact.objects.count() == 80
    assert RollupState.objects.get().built_at is not None
    client = Client()
    assert client.login(username="admin", password="cherish-admin")
    html = client.get("/desk/scorecard/?period=year").content.decode()
    assert 'data-points="' in html
    assert 'id="chart-csat"' in html and "No data yet" not in html.split('id="chart-csat"')[1][:300]
