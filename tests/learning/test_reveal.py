"""What complaints reveal: policies causing pain, our communications, training needs by team,
competitor mentions; and the policy register."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.management import call_command
from django.urls import reverse

from cherish.cases import actions as case_actions
from cherish.customers.actions import TransactionRow, upsert_transactions
from cherish.learning import actions, queries
from cherish.learning.models import Competitor, CompetitorMention, Policy, PolicyLink, RootCause
from cherish.learning.tasks import assign_theme_task
from tests.conftest import login
from tests.learning.conftest import open_complaint


def _policy(lead, title="Returns within 14 days", phrases="14 days, restocking fee") -> Policy:
    return actions.save_policy(None, title=title, phrases=phrases, by=lead)


def test_reply_quoting_our_policy_links_the_complaint(complaint, agent, lead):
    # given a policy with phrases and a reply quoting it
    policy = _policy(lead)
    case_actions.reply_to_customer(
        complaint, text="I'm sorry, but our policy is to charge a restocking fee.", by=agent
    )
    case_actions.reply_to_customer(complaint, text="Policy aside, sorry.", by=agent)
    # when the periodic job runs, twice
    call_command("learning_tick", verbosity=0)
    call_command("learning_tick", verbosity=0)
    # then the complaint is linked once, by the reply
    [link] = PolicyLink.objects.all()
    assert (link.case, link.policy, link.source) == (complaint, policy, "reply")


def test_policies_causing_pain_ranked_by_complaints_and_value(agent, lead):
    # given two policies; the fee policy has two complaints, returns one
    fees = _policy(lead, "Card fees", "card fee")
    returns = _policy(lead, "Returns within 14 days", "14 days")
    cases = [open_complaint(f"Complaint {i}", i) for i in range(3)]
    for case in cases[:2]:
        actions.link_policy(case, policy=fees, by=lead, source="tagged")
    actions.link_policy(cases[2], policy=returns, by=lead, source="tagged")
    now = cases[0].created_at
    upsert_transactions(
        [
            TransactionRow(cases[0].customer_id, "t1", "order", now, Decimal("120.00")),
            TransactionRow(cases[1].customer_id, "t2", "order", now, Decimal("30.50")),
            TransactionRow(
                cases[1].customer_id, "t3", "order", now, Decimal("99"), status="refunded"
            ),
            TransactionRow(cases[2].customer_id, "t4", "order", now, Decimal("500")),
        ]
    )
    # when
    rows = queries.policies_causing_pain()
    # then
    assert [(r.policy.title, r.complaints, r.customers, r.value_at_risk) for r in rows] == [
        ("Card fees", 2, 2, Decimal("150.50")),
        ("Returns within 14 days", 1, 1, Decimal("500.00")),
    ]


def test_training_needs_by_team_never_name_staff(client, complaint, agent, lead):
    cause = RootCause.objects.get(category="people")
    actions.record_finding(complaint, root_cause=cause, leak_step="customer_care", by=lead)
    login(client, agent)
    body = client.get(reverse("learning:reveal")).content.decode()
    section = body.split('id="training-h"')[1].split("</section>")[0]
    assert "Customer Care" in section and complaint.reference in section
    assert agent.display_name not in section and lead.display_name not in section


def test_communications_wrong_grouped_by_kind(complaint, lead):
    actions.record_finding(
        complaint,
        root_cause=RootCause.objects.get(category="communication"),
        leak_step="finance",
        communication="invoice",
        communication_note="VAT line missing",
        by=lead,
    )
    [group] = queries.communications_wrong()
    assert (group["label"], [f.case for f in group["findings"]]) == ("Invoice or bill", [complaint])


def test_competitor_mentions_found_as_complaints_arrive(agent):
    Competitor.objects.create(name="ParcelPal", aliases="Parcel Pal")
    case = open_complaint("Parcel Pal is cheaper and delivers next day, I may switch.", 5)
    assign_theme_task.call(case.messages.get().pk, True)
    assign_theme_task.call(case.messages.get().pk, True)
    [mention] = CompetitorMention.objects.all()
    assert (mention.case, mention.aspects) == (case, ["price", "speed", "offer"])
    [group] = queries.competitor_mentions()
    assert (group["competitor"].name, group["count"], group["aspects"][0]) == (
        "ParcelPal",
        1,
        ("price", 1),
    )


def test_policy_register_through_the_pages(client, lead, agent, complaint):
    login(client, lead)
    response = client.post(
        reverse("learning:policy-new"),
        {
            "title": "No refunds after 30 days",
            "owner": lead.pk,
            "review_by": "2020-01-01",
            "is_active": "on",
        },
    )
    policy = Policy.objects.get()
    assert response.status_code == 302
    assert (policy.owner, policy.review_by) == (lead, dt.date(2020, 1, 1))
    duplicate = client.post(reverse("learning:policy-new"), {"title": "no refunds AFTER 30 days"})
    assert duplicate.status_code == 400 and Policy.objects.count() == 1
    register = client.get(reverse("learning:policies")).content.decode()
    assert "overdue" in register
    # an agent tags a complaint; an agent may not add policies
    login(client, agent)
    client.post(reverse("learning:case-policy", args=[complaint.reference]), {"policy": policy.pk})
    assert PolicyLink.objects.get().source == "tagged"
    refused = client.post(reverse("learning:policy-new"), {"title": "Agent policy"})
    assert refused.status_code == 403 and Policy.objects.count() == 1
