"""Demo data for learning and people: themes, root causes, the policy register, improvement
actions (one published on "You said, we did"), stories, recognition and a staff pulse.

Called by ``cherish demo`` after the cases exist; everything goes through actions.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from cherish.cases import actions as case_actions
from cherish.cases.models import Case, Kind
from cherish.core.clock import now
from cherish.learning import actions
from cherish.learning.models import (
    ActionStatus,
    CaseTheme,
    Communication,
    Competitor,
    LeakStep,
    RootCause,
    Theme,
    ThemeStatus,
)
from cherish.staff import actions as staff_actions
from cherish.staff import queries as staff_queries
from cherish.staff.models import Role, Staff, Team

DEMO_CREED = (
    "We listen first, and we believe you.\n"
    "One person owns your complaint from start to finish.\n"
    "We put it right, and then a little more."
)

POLICIES = [
    (
        "Returns within 14 days",
        "Goods can be returned within 14 days of delivery.",
        "14 days, returns window",
    ),
    (
        "Refunds take 5-7 working days",
        "Refunds are paid 5-7 working days after we receive goods.",
        "5-7 days, refund",
    ),
    ("Exit fee on early cancellation", "Contracts cancelled early pay an exit fee.", "exit fee"),
    (
        "All-day delivery slots",
        "Deliveries are booked 8am to 6pm; no shorter slots.",
        "delivery slot, 8am to 6pm",
    ),
]

COMPETITOR_REPLIES = [
    "ParcelPal delivers next day and texts a one-hour slot. Why can't you? I may switch.",
    "QuickShip is cheaper and their returns are free. Your restocking fee is unfair.",
    "My neighbour uses ParcelPal and never waits in all day. Your 8am to 6pm slot is useless.",
]

STORIES = [
    (
        "excellent",
        "The heater that could have burned a house down",
        "A customer reported a heater smoking after an hour. Chloe called within ten minutes, "
        "arranged collection that evening and a replacement of a different model.",
        "A safety complaint is answered by phone at once, before any email.",
        "Safety words (smoke, burning, sparks) now mark a complaint critical in triage.",
        True,
    ),
    (
        "failure",
        "Three promises to call back, none kept",
        "A customer was promised a call back three times by three people. Nobody owned it.",
        "A promise without an owner and a time is not a promise.",
        "Every call-back is now a commitment with an owner and a due time on the case.",
        True,
    ),
    (
        "failure",
        "Charged twice, overdrawn, and told to wait 7 days",
        "A duplicate payment left a customer overdrawn; we quoted the refund policy at her.",
        "Quoting a policy to someone hurt by our mistake makes it worse.",
        "Duplicate charges are refunded the same day, whatever the standard refund time.",
        False,
    ),
]


def _complaint_cases() -> list[Case]:
    return list(Case.objects.filter(kind=Kind.COMPLAINT).order_by("created_at"))


def load_demo(*, staff: list[Staff], rng: random.Random, **_: Any) -> dict[str, int]:
    lead = next(s for s in staff if s.role == Role.LEAD)
    manager = Staff.objects.filter(role=Role.MANAGER).first() or lead
    agents = [s for s in staff if s.role == Role.AGENT]
    Competitor.objects.get_or_create(name="ParcelPal", defaults={"aliases": "Parcel Pal"})
    Competitor.objects.get_or_create(name="QuickShip")
    open_complaints = [c for c in _complaint_cases() if c.is_open]
    for case, text in zip(open_complaints, COMPETITOR_REPLIES, strict=False):
        case_actions.add_inbound_message(case, text=text, channel=case.channel)
        actions.find_competitor_mentions(case)

    result = actions.recluster_themes(k=12, seed=rng.randint(0, 1000))
    themes = list(Theme.objects.filter(status=ThemeStatus.ACTIVE).order_by("-case_count"))
    if themes:
        actions.rename_theme(
            themes[0], name=themes[0].name.split(",")[0].strip() + " (named by staff)", by=lead
        )

    actions.seed_root_causes()
    causes = list(RootCause.objects.all())
    closed = [c for c in _complaint_cases() if not c.is_open]
    for case in rng.sample(closed, min(60, len(closed))):
        cause = rng.choice(causes)
        actions.record_finding(
            case,
            root_cause=cause,
            leak_step=rng.choice(LeakStep.values),
            communication=rng.choice(Communication.values)
            if cause.category == "communication"
            else "",
            communication_note="The website said 5-7 days"
            if cause.category == "communication"
            else "",
            by=lead,
        )

    today = now().date()
    policies = []
    for i, (title, summary, phrases) in enumerate(POLICIES):
        policies.append(
            actions.save_policy(
                None,
                title=title,
                summary=summary,
                phrases=phrases,
                owner=lead if i % 2 else manager,
                review_by=today + dt.timedelta(days=90 - 60 * i),
                by=lead,
            )
        )
    for case in rng.sample(_complaint_cases(), 30):
        actions.link_policy(case, policy=rng.choice(policies), by=lead, source="tagged")

    actions_made = 0
    if themes:
        done = actions.save_improvement_action(
            None,
            title="Two-hour delivery windows with a text on the day",
            description="Carriers now give a two-hour window and text the customer.",
            theme=themes[0],
            owner=lead,
            status=ActionStatus.DONE,
            you_said="You told us you waited in all day for deliveries that never came.",
            we_did="We now give you a two-hour delivery window and text you on the day.",
            by=lead,
        )
        # Demo history: the action was done forty days ago, so its effect can be checked.
        done.completed_at = now() - dt.timedelta(days=40)
        done.save(update_fields=["completed_at"])
        actions.publish_action(done, by=manager)
        actions.save_improvement_action(
            None,
            title="Review the exit fee for vulnerable customers",
            policy=policies[2],
            owner=manager,
            due_date=today + dt.timedelta(days=5),
            status=ActionStatus.IN_PROGRESS,
            by=lead,
        )
        actions.save_improvement_action(
            None,
            title="Same-day refunds of duplicate charges",
            theme=themes[min(1, len(themes) - 1)],
            policy=policies[1],
            owner=lead,
            due_date=today + dt.timedelta(days=20),
            by=lead,
        )
        actions_made = 3

    teams = list(Team.objects.all())
    resolved = [c for c in closed if CaseTheme.objects.filter(case=c).exists()] or closed
    for i, (kind, title, happened, learned, changed, onboarding) in enumerate(STORIES):
        story = actions.write_story(
            None,
            case=resolved[i] if i < len(resolved) else None,
            kind=kind,
            title=title,
            what_happened=happened,
            what_we_learned=learned,
            what_we_changed=changed,
            for_onboarding=onboarding,
            by=lead,
        )
        actions.circulate_story(story, teams=teams[: 1 + i % 2], by=lead)
        for reader in staff[: 2 + i]:
            actions.mark_story_read(story, by=reader)

    if not staff_queries.creed_text():  # a flushed database (tests) lost the seeded creed
        staff_actions.edit_creed(text=DEMO_CREED, by=manager)
    recognised = actions.collect_recognition()
    if len(agents) >= 2:
        staff_actions.thank_colleague(
            agents[0], message="Took my angry caller and turned it round. Thank you!", by=agents[1]
        )
        staff_actions.thank_colleague(
            agents[1], message="Covered my queue while I was at the dentist.", by=agents[0]
        )
        staff_actions.nominate(
            agents[0], reason="Kept every promise this month and won back two customers.", by=lead
        )

    pulse = staff_actions.open_pulse(
        title="How are we doing? (monthly pulse)",
        questions=[
            "I can give customers the service they deserve.",
            "My tools help me do my job.",
            "I get the support I need from my lead.",
        ],
        opens_at=now() - dt.timedelta(days=14),
        closes_at=now() + dt.timedelta(days=1),
        by=manager,
    )
    for person in staff:
        staff_actions.answer_pulse(
            pulse,
            scores={0: rng.randint(3, 5), 1: rng.randint(1, 4), 2: rng.randint(2, 5)},
            by=person,
        )
    staff_actions.close_pulse(pulse, by=manager)
    staff_actions.record_pulse_plan(
        pulse, title="Replace the slow order-lookup screen", owner=manager, by=manager
    )
    staff_actions.open_pulse(
        title="Our tools (open now)",
        questions=["My tools help me do my job.", "I can find a customer's history fast."],
        opens_at=now() - dt.timedelta(hours=1),
        closes_at=now() + dt.timedelta(days=14),
        by=manager,
    )
    return {
        "themes": result.created,
        "actions": actions_made,
        "stories": len(STORIES),
        "recognitions": recognised,
    }
