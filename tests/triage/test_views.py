"""The triage panel's forms over HTTP: corrections of every field, flags, and visible refusals."""

from __future__ import annotations

import pytest

from cherish.cases import actions as case_actions
from cherish.cases.models import Case, CaseEvent
from cherish.triage.models import Correction
from cherish.triage.tasks import triage_message

LEAVING = "I'm furious. Third late order, I'll take my business elsewhere."


@pytest.fixture
def read_case(agent, customer) -> Case:
    case, message = case_actions.open_case(customer, text=LEAVING, channel="web")
    triage_message(message.pk)
    case.refresh_from_db()
    return case


def _url(case: Case, tail: str = "") -> str:
    return f"/desk/cases/{case.reference}/triage/{tail}"


def test_case_page_shows_signals_with_their_source_and_its_forms_on_demand(desk_client, read_case):
    html = desk_client.get(f"/desk/cases/{read_case.reference}/").content.decode()
    assert 'data-flag="leaving"' in html
    assert "take my business elsewhere" in html
    # "Correct it" and "Add a flag" are not written into the page: each loads when opened
    # (HTMX), or opens on the panel's own page without JavaScript.
    assert 'name="emotion"' not in html and 'id="add-flag"' not in html
    for tail, slot in (("", "triage-correct-slot"), ("flags/add/", "triage-add-flag-slot")):
        assert f'hx-get="{_url(read_case, tail)}" hx-trigger="toggle once"' in html
        assert f'hx-target="#{slot}"' in html
        assert f'<a href="{_url(read_case, tail)}">' in html


def test_the_correction_form_loads_with_every_correctable_field(desk_client, read_case):
    # when: the disclosure opens (HTMX)
    response = desk_client.get(_url(read_case), HTTP_HX_REQUEST="true")
    # then: the form alone, every field with the current value chosen
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<form method="post" action="{_url(read_case)}"')
    for name in ("kind", "emotion", "urgency", "topic", "phase", "language"):
        assert f'name="{name}"' in html
    assert f'<option value="{read_case.triage["emotion"]}" selected>' in html
    assert 'name="csrfmiddlewaretoken"' in html
    # without JavaScript: the panel on its own page with the form open
    plain = desk_client.get(_url(read_case))
    assert plain.status_code == 200
    page = plain.content.decode()
    assert '<details id="triage-correct" open>' in page and 'name="language"' in page
    assert 'id="add-flag"' not in page
    assert plain["Vary"] and "HX-Request" in plain["Vary"]


def test_the_add_flag_form_loads_with_the_flags_not_raised(desk_client, read_case):
    html = desk_client.get(_url(read_case, "flags/add/"), HTTP_HX_REQUEST="true").content.decode()
    assert f'action="{_url(read_case, "flags/add/")}"' in html
    assert '<option value="legal">' in html and '<option value="leaving">' not in html
    page = desk_client.get(_url(read_case, "flags/add/")).content.decode()
    assert '<details id="triage-add-flag" open>' in page and 'name="emotion"' not in page


def test_correct_several_fields_at_once_without_js(desk_client, read_case, agent):
    reading = read_case.triage
    response = desk_client.post(
        _url(read_case),
        {
            "kind": read_case.kind,
            "emotion": reading["emotion"],
            "urgency": reading["urgency"],
            "topic": "billing" if reading["topic"] != "billing" else "delivery",
            "phase": reading["phase"],
            "language": "fr",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/desk/cases/{read_case.reference}/#triage-panel"
    read_case.refresh_from_db()
    assert read_case.triage["language"] == "fr"
    assert set(Correction.objects.values_list("field", flat=True)) == {"topic", "language"}
    assert CaseEvent.objects.filter(case=read_case, type="triage.corrected").count() == 2


def test_correct_topic_with_htmx_returns_the_panel(desk_client, read_case):
    new_topic = "billing" if read_case.triage["topic"] != "billing" else "delivery"
    response = desk_client.post(_url(read_case), {"topic": new_topic}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="triage-panel"')
    assert f"Topic is now {new_topic}" in html
    assert Correction.objects.get().new_value == new_topic


@pytest.mark.parametrize(
    ("posted", "message"),
    [
        ({"field": "kind", "value": "worry"}, "“worry” is not a valid kind."),
        ({"urgency": "apocalyptic"}, "“apocalyptic” is not a valid urgency."),
        ({"field": "intensity", "value": "9"}, "“intensity” is not a field you can correct."),
    ],
    ids=["mismatched pair", "unknown value", "unknown field"],
)
def test_refused_correction_is_shown_with_and_without_js(desk_client, read_case, posted, message):
    htmx = desk_client.post(_url(read_case), posted, HTTP_HX_REQUEST="true")
    # htmx swaps 2xx only: the refusal comes back in the panel with 200, never a dropped 4xx
    assert htmx.status_code == 200
    assert f'<p class="field-error" role="alert" id="correct-error">{message}</p>' in (
        htmx.content.decode()
    )
    plain = desk_client.post(_url(read_case), posted)
    assert plain.status_code == 400
    assert message in plain.content.decode()
    assert '<details id="triage-correct" open>' in plain.content.decode()
    assert not Correction.objects.exists()
    assert not CaseEvent.objects.filter(case=read_case, type="triage.corrected").exists()


def test_unchanged_correction_says_so(desk_client, read_case):
    response = desk_client.post(_url(read_case), {"kind": read_case.kind})
    assert response.status_code == 400
    assert "Change at least one value to correct it." in response.content.decode()


def test_clear_flag_needs_a_reason(desk_client, read_case):
    response = desk_client.post(
        _url(read_case, "flags/clear/"), {"flag": "leaving", "reason": ""}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="clear-leaving-error">Say why, so the next person knows' in html
    read_case.refresh_from_db()
    assert "leaving" in read_case.badges


def test_clear_and_add_flags_without_js(desk_client, read_case, agent):
    response = desk_client.post(
        _url(read_case, "flags/clear/"), {"flag": "leaving", "reason": "He is staying."}
    )
    assert response.status_code == 302
    response = desk_client.post(
        _url(read_case, "flags/add/"), {"flag": "public", "reason": "Posted on Trustpilot."}
    )
    assert response.status_code == 302
    read_case.refresh_from_db()
    assert "leaving" not in read_case.badges and "public" in read_case.badges
    page = desk_client.get(f"/desk/cases/{read_case.reference}/").content.decode()
    assert "He is staying." in page and "Posted on Trustpilot." in page
    # the timeline tells the story in sentences
    assert "Flag “leaving” cleared: He is staying." in page
    assert "Flag “public” added: Posted on Trustpilot." in page
    # (the case page is a Jinja2 template: markupsafe writes ' as &#39;, Django as &#x27;)
    assert "Flag “leaving” raised by the customer&#39;s message (“take my business" in page


def test_clearing_a_flag_someone_else_cleared_shows_the_refusal(desk_client, read_case):
    desk_client.post(_url(read_case, "flags/clear/"), {"flag": "leaving", "reason": "Staying."})
    response = desk_client.post(
        _url(read_case, "flags/clear/"),
        {"flag": "leaving", "reason": "Staying."},
        HTTP_HX_REQUEST="true",
    )
    assert '<p class="field-error" role="alert">“Leaving” is not raised on this case.</p>' in (
        response.content.decode()
    )


def test_non_staff_cannot_post(client, read_case, django_user_model):
    user = django_user_model.objects.create_user("mallory", password="x" * 20)
    client.force_login(user)
    response = client.post(_url(read_case, "flags/clear/"), {"flag": "leaving", "reason": "x"})
    assert response.status_code == 403  # the desk guard: outsiders get 403
    read_case.refresh_from_db()
    assert "leaving" in read_case.badges
