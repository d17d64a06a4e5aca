from tests.api.conftest import assert_problem
from tests.feedback.conftest import answers, close, invite

from cherish.feedback import actions
from cherish.feedback.models import Invitation


def test_list_and_read_survey_answers(api, complaint, django_assert_num_queries):
    # given: an after-case answer
    close(complaint)
    actions.invite_after_closed_cases()
    response = actions.record_answers(
        Invitation.objects.get(), answers("after-case", csat=5, resolved="Yes", comment="Great")
    ).response
    # when
    with django_assert_num_queries(4):  # key, its last use, responses, answers
        listed = api.get("/api/v1/survey-responses?survey=after-case")
    one = api.get(f"/api/v1/survey-responses/{response.pk}")
    # then
    assert listed.status_code == one.status_code == 200
    [item] = listed.json()["items"]
    assert item == one.json()
    assert item["case"] == complaint.reference
    assert (item["csat"], item["resolved"], item["comment"], item["channel"]) == (
        5,
        "Yes",
        "Great",
        "email",
    )
    assert [a["measure"] for a in item["answers"]] == ["csat", "resolved", "comment"]
    assert item["answers"][1] == {
        "question": "Is your problem resolved?",
        "type": "choice",
        "measure": "resolved",
        "value": 0,
        "text": "Yes",
    }
    assert listed.json()["next_cursor"] is None


def test_pages_follow_the_cursor(api, customer, db):
    from cherish.customers.actions import find_or_create_customer

    for i in range(3):
        someone, _ = find_or_create_customer(name=f"P {i}", email=f"p{i}@example.com")
        actions.record_answers(invite("relationship", someone), answers("relationship", nps=i))
    first = api.get("/api/v1/survey-responses?limit=2").json()
    second = api.get(f"/api/v1/survey-responses?limit=2&cursor={first['next_cursor']}").json()
    assert [r["nps"] for r in first["items"]] == [2, 1]
    assert [r["nps"] for r in second["items"]] == [0]
    assert second["next_cursor"] is None


def test_unknown_answer_and_bad_cursor(api, db):
    assert_problem(api.get("/api/v1/survey-responses/-1"), 404, "not_found")
    assert_problem(api.get("/api/v1/survey-responses?cursor=zzz"), 422, "invalid_cursor")


def test_survey_answers_need_a_key(client, db):
    assert_problem(client.get("/api/v1/survey-responses"), 401, "not_authenticated")
