"""Every change the feedback app makes: invitations, answers, opt-outs, closing the loop.

Each action is one transaction and writes its events through cherish.feedback.events.
Refusals raise FeedbackError (or SurveyClosed) with a sentence and a stable code and write
nothing.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext

from cherish.care.models import Target
from cherish.care.queries import schedule_for_team
from cherish.cases.models import Case, CaseEvent, Channel, Kind
from cherish.core.clock import now
from cherish.core.i18n import language_of
from cherish.core.signing import make_token
from cherish.core.text import clean_text
from cherish.customers.models import ContactKind, ContactPoint, Customer, RelationshipStatus
from cherish.feedback import events, queries
from cherish.feedback.errors import FeedbackError, SurveyClosed
from cherish.feedback.models import (
    EXPECTATION_MEASURES,
    LOYALTY_MEASURES,
    Answer,
    Compliment,
    CustomerFeedback,
    Invitation,
    InvitationChannel,
    InvitationStatus,
    LoyaltyLevel,
    Measure,
    Purpose,
    Question,
    QuestionType,
    Survey,
    SurveyPolicy,
    SurveyResponse,
    nps_group,
)
from cherish.intake import actions as intake_actions
from cherish.outbox.actions import queue_email
from cherish.staff.models import Staff

TOKEN_PURPOSE = "survey"
RATE_TOKEN_PURPOSE = "survey-rate"
# Closed cases are looked for this far back, so a ticker that was down for a day catches up.
CLOSED_LOOKBACK = dt.timedelta(days=3)
# A periodic survey skipped (cap, open complaint) is tried again after this long.
RETRY_SKIPPED_AFTER = dt.timedelta(days=30)
# One-click answers from an email are settled this long before a low score opens a case:
# a mail scanner that opens every link in the message leaves several different values in
# a few seconds, which is not a person answering (see SCANNER_WINDOW).
CLICK_SETTLE = dt.timedelta(seconds=45)
SCANNER_WINDOW = dt.timedelta(seconds=30)
NUMBER_CHOICES = [1, 2, 3, 5, 7, 10, 14, 30]
MAX_TEXT = 5000
LOYALTY_ORDER = [
    (Measure.CONFIDENCE, LoyaltyLevel.CONFIDENCE),
    (Measure.FAIRNESS, LoyaltyLevel.FAIRNESS),
    (Measure.PRIDE, LoyaltyLevel.PRIDE),
    (Measure.PASSION, LoyaltyLevel.PASSION),
]
AGREED = 4


# --- links -------------------------------------------------------------------------------


def survey_token(invitation: Invitation) -> str:
    return make_token(TOKEN_PURPOSE, {"i": invitation.pk})


def survey_url(invitation: Invitation, value: int | None = None) -> str:
    token = survey_token(invitation)
    if value is None:
        return settings.SITE_URL + reverse("feedback:survey", args=[token])
    return settings.SITE_URL + reverse("feedback:click", args=[token, value])


def rating_token(case: Case, survey: Survey) -> str:
    """For the customer's own case page: proves the page was shown for this case."""
    return make_token(RATE_TOKEN_PURPOSE, {"c": case.pk, "s": survey.pk})


# --- who may be asked --------------------------------------------------------------------


def email_address(customer: Customer) -> str:
    value = (
        ContactPoint.objects.filter(customer=customer, kind=ContactKind.EMAIL)
        .order_by("id")
        .values_list("value", flat=True)
        .first()
    )
    return value or ""


def reason_not_to_ask(
    customer: Customer, *, at: dt.datetime, policy: SurveyPolicy, case: Case | None = None
) -> str:
    """Why this customer must not get a survey email now ("" when they may).

    Never an erased, merged or departed customer, never one who opted out of proactive
    contact or of surveys, never while a complaint of theirs is open (unless the survey is
    about that very case), and never more often than the policy's cap.
    """
    if (
        customer.erased_at is not None
        or customer.merged_into_id is not None
        or customer.status == RelationshipStatus.LEFT
    ):
        return "not_contactable"
    if (
        customer.opted_out
        or CustomerFeedback.objects.filter(customer=customer, surveys_opted_out=True).exists()
    ):
        return "opted_out"
    open_complaints = Case.objects.filter(customer=customer, kind=Kind.COMPLAINT).open()
    if case is not None:
        open_complaints = open_complaints.exclude(pk=case.pk)
    if open_complaints.exists():
        return "open_complaint"
    recent = Invitation.objects.filter(
        customer=customer,
        channel=InvitationChannel.EMAIL,
        status__in=[InvitationStatus.SENT, InvitationStatus.ANSWERED],
        created_at__gt=at - dt.timedelta(days=policy.per_days),
    ).count()
    if recent >= policy.max_invitations:
        return "cap"
    return ""


# --- invitations -------------------------------------------------------------------------


@transaction.atomic
def invite(
    survey: Survey, customer: Customer, *, case: Case | None = None, at: dt.datetime | None = None
) -> Invitation:
    """Send ``survey`` to the customer by email, or record why not (a skipped invitation).

    Idempotent per (survey, case). The email carries the first question with one link per
    answer (one click records it), the survey link and the opt-out link.
    Writes survey.sent (on the case, or on the customer without one).
    """
    at = at or now()
    if case is not None:
        existing = Invitation.objects.filter(survey=survey, case=case).first()
        if existing is not None:
            return existing
    policy = queries.policy()
    reason = reason_not_to_ask(customer, at=at, policy=policy, case=case)
    address = "" if reason else email_address(customer)
    if not reason and not address:
        reason = "no_email"
    invitation = Invitation.objects.create(
        survey=survey,
        customer=customer,
        case=case,
        channel=InvitationChannel.EMAIL,
        status=InvitationStatus.SKIPPED if reason else InvitationStatus.SENT,
        skip_reason=reason,
        sent_to=address,
        created_at=at,
        expires_at=at + dt.timedelta(days=survey.link_valid_days),
    )
    if reason:
        return invitation
    with language_of(customer.language):
        subject, text, body_html = invitation_email(invitation)
    email = queue_email(
        to=address,
        subject=subject,
        text=text,
        html=body_html,
        from_name=settings.CHERISH_ORG_NAME,
        headers={"Auto-Submitted": "auto-generated"},
        is_automatic=True,
    )
    invitation.email_pk = email.pk
    invitation.save(update_fields=["email_pk"])
    events.record_survey_sent(invitation)
    return invitation


def _first_question_values(question: Question) -> list[tuple[int, str]]:
    if question.type == QuestionType.NUMBER:
        low, high = question.min_value, question.max_value
        unit = _text(question.unit)
        return [(n, f"{n} {unit}".strip()) for n in NUMBER_CHOICES if low <= n <= high]
    if question.type == QuestionType.CHOICE:
        return [(i, _text(str(label))) for i, label in enumerate(question.choices or [])]
    labels = queries.scale_labels(question)
    return [(value, _text(labels.get(value, str(value)))) for value in question.scale]


def _text(text: str) -> str:
    """A survey text in the active language when it is a built-in one (feedback.builtin_texts);
    a manager's own wording as written."""
    return gettext(text) if text else text


def invitation_email(invitation: Invitation) -> tuple[str, str, str]:
    """(subject, text, html) of the invitation, in the active language: the first question
    answerable in the email."""
    survey, customer = invitation.survey, invitation.customer
    name, intro = _text(survey.name), _text(survey.intro)
    questions = queries.questions_of(survey.pk)
    greeting = (
        gettext("Dear %(name)s,") % {"name": customer.name} if customer.name else gettext("Hello,")
    )
    if invitation.case:
        subject = gettext("%(survey)s: two minutes about your case %(reference)s?") % {
            "survey": name,
            "reference": invitation.case.reference,
        }
    else:
        subject = gettext("%(survey)s: two minutes?") % {"survey": name}
    opt_out = settings.SITE_URL + reverse("feedback:opt-out", args=[survey_token(invitation)])
    page = survey_url(invitation)
    lines = [greeting, "", intro, ""]
    parts = [f"<p>{html.escape(greeting)}</p>", f"<p>{html.escape(intro)}</p>"]
    first = questions[0] if questions else None
    if first is not None and first.type != QuestionType.TEXT:
        values = _first_question_values(first)
        lines += [_text(first.text), gettext("One click records your answer:")]
        lines += [f"  {label}: {survey_url(invitation, value)}" for value, label in values]
        links = " ".join(
            f'<a href="{html.escape(survey_url(invitation, value))}" '
            f'style="display:inline-block;padding:8px 12px;margin:2px;border:1px solid #888;'
            f'border-radius:4px;text-decoration:none" aria-label="{html.escape(label)}">'
            f"{html.escape(str(value) if first.scale else label)}</a>"
            for value, label in values
        )
        parts += [f"<p><strong>{html.escape(_text(first.text))}</strong></p>", f"<p>{links}</p>"]
        if first.scale:
            low, high = values[0][1], values[-1][1]
            parts.append(f"<p><small>{html.escape(low)} … {html.escape(high)}</small></p>")
    lines += ["", gettext("All the questions: %(link)s") % {"link": page}]
    lines += ["", gettext("No more surveys: %(link)s") % {"link": opt_out}]
    lines += ["", settings.CHERISH_ORG_NAME]
    answer_all = html.escape(gettext("Answer all the questions"))
    no_more = html.escape(gettext("No more surveys, please"))
    parts += [
        f'<p><a href="{html.escape(page)}">{answer_all}</a></p>',
        f'<p><small><a href="{html.escape(opt_out)}">{no_more}</a></small></p>',
        f"<p>{html.escape(settings.CHERISH_ORG_NAME)}</p>",
    ]
    body_html = "<!doctype html><html><body>\n" + "\n".join(parts) + "\n</body></html>"
    return subject, "\n".join(lines), body_html


def invite_after_closed_cases(*, at: dt.datetime | None = None, limit: int = 500) -> int:
    """Invite the customers of recently closed cases to each after-case survey of the kind.

    Reads case.closed events of the last few days (indexed by type and time); a case that is
    open again is left until it closes. Idempotent: one invitation per survey and case.
    Returns the number of invitations created (sent or skipped).
    """
    at = at or now()
    surveys = list(Survey.objects.filter(is_active=True, purpose=Purpose.AFTER_CASE))
    if not surveys:
        return 0
    closed_ids = (
        CaseEvent.objects.filter(type="case.closed", created_at__gte=at - CLOSED_LOOKBACK)
        .values_list("case_id", flat=True)
        .distinct()
    )
    created = 0
    for survey in surveys:
        kinds = [k for k in (survey.case_kinds or []) if k in Kind.values]
        if not kinds:
            continue
        cases = (
            Case.objects.filter(pk__in=closed_ids, kind__in=kinds, is_open=False)
            .exclude(pk__in=Invitation.objects.filter(survey=survey).values("case_id"))
            .select_related("customer")
            .order_by("closed_at")[:limit]
        )
        for case in cases:
            invite(survey, case.customer, case=case, at=at)
            created += 1
    return created


def invite_periodic(*, at: dt.datetime | None = None) -> int:
    """Send the relationship and expectations surveys to customers who are due.

    A customer is due when they have not been sent (or skipped for) that survey within its
    ``every_days`` (30 days for a skip); at most ``daily_limit`` go out per survey per day.
    """
    at = at or now()
    created = 0
    day_start = at.replace(hour=0, minute=0, second=0, microsecond=0)
    for survey in Survey.objects.filter(
        is_active=True, purpose__in=[Purpose.RELATIONSHIP, Purpose.EXPECTATIONS]
    ):
        done_today = Invitation.objects.filter(survey=survey, created_at__gte=day_start).count()
        room = survey.daily_limit - done_today
        if room <= 0 or survey.every_days <= 0:
            continue
        recent = Invitation.objects.filter(survey=survey).filter(
            Q(
                status__in=[InvitationStatus.SENT, InvitationStatus.ANSWERED],
                created_at__gt=at - dt.timedelta(days=survey.every_days),
            )
            | Q(status=InvitationStatus.SKIPPED, created_at__gt=at - RETRY_SKIPPED_AFTER)
        )
        due = (
            Customer.objects.filter(
                status=RelationshipStatus.ACTIVE,
                merged_into__isnull=True,
                erased_at__isnull=True,
                opted_out=False,
                contact_points__kind=ContactKind.EMAIL,
            )
            .exclude(pk__in=recent.values("customer_id"))
            .exclude(feedback__surveys_opted_out=True)
            .distinct()
            .order_by("id")[:room]
        )
        for customer in due:
            invite(survey, customer, at=at)
            created += 1
    return created


# --- answers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    response: SurveyResponse
    changed: bool
    first: bool


def _clean_value(question: Question, raw: Any) -> tuple[int | None, str] | None:
    """(value_int, value_text) for an answer, None for "no answer". Refuses invalid ones."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    field = f"q{question.pk}"
    if question.type == QuestionType.TEXT:
        text = clean_text(str(raw))[:MAX_TEXT].strip()
        return (None, text) if text else None
    if question.type == QuestionType.CHOICE:
        options = list(question.choices or [])
        if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw < len(options):
            return raw, str(options[raw])
        if str(raw) in options:
            return options.index(str(raw)), str(raw)
        raise FeedbackError(
            gettext("Choose one of: %(options)s.") % {"options": ", ".join(map(str, options))},
            code="invalid_answer",
            field=field,
        )
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise FeedbackError(
            gettext("Give a whole number."), code="invalid_answer", field=field
        ) from None
    if question.type == QuestionType.NUMBER:
        low, high = question.min_value, question.max_value
    else:
        low, high = question.scale[0], question.scale[-1]
    if not low <= value <= high:
        raise FeedbackError(
            gettext("Give a number from %(low)s to %(high)s.") % {"low": low, "high": high},
            code="invalid_answer",
            field=field,
        )
    return value, ""


def loyalty_level(values: Mapping[str, int | None]) -> str:
    """The highest Gallup level whose statement and every one below it the customer agreed
    with (4 or 5 of 5); "none" when confidence itself is missing; "" when not asked."""
    if all(values.get(m) is None for m in LOYALTY_MEASURES):
        return ""
    level = str(LoyaltyLevel.NONE)
    for measure, reached in LOYALTY_ORDER:
        value = values.get(measure)
        if value is None or value < AGREED:
            break
        level = str(reached)
    return level


def raving_fan(values: Mapping[str, int | None]) -> bool | None:
    """Both raving-fan statements agreed with (seed 000: "YES!" to both); None if unasked."""
    perfect, world = values.get(Measure.RAVING_PERFECT), values.get(Measure.RAVING_WORLD)
    if perfect is None or world is None:
        return None
    return perfect >= AGREED and world >= AGREED


def is_low(response: SurveyResponse, policy: SurveyPolicy) -> str:
    """Why this response should open a case ("" when it should not)."""
    if response.csat is not None and response.csat <= policy.low_satisfaction:
        return f"satisfaction {response.csat} of 5"
    if response.nps is not None and response.nps <= 6:
        return f"would recommend us {response.nps} of 10 (detractor)"
    return ""


def _apply_headlines(response: SurveyResponse, answers: list[tuple[Question, Answer]]) -> None:
    by_measure: dict[str, Answer] = {q.measure: a for q, a in answers if q.measure}
    ints = {m: a.value_int for m, a in by_measure.items()}

    def text(measure: str) -> str:
        answer = by_measure.get(measure)
        return answer.value_text if answer else ""

    response.csat = ints.get(Measure.CSAT)
    response.nps = ints.get(Measure.NPS)
    response.fair = ints.get(Measure.FAIR)
    response.cared = ints.get(Measure.CARED)
    response.resolved = text(Measure.RESOLVED)[:40]
    response.would_stay = text(Measure.WOULD_STAY)[:40]
    response.comment = text(Measure.COMMENT)
    response.loyalty_level = loyalty_level(ints)
    response.raving_fan = raving_fan(ints)


def _open_invitation(invitation: Invitation, at: dt.datetime) -> Invitation:
    invitation = (
        # of=self: PostgreSQL cannot lock the nullable side (case) of the outer join.
        Invitation.objects.select_for_update(of=("self",))
        .select_related("survey", "customer", "case")
        .get(pk=invitation.pk)
    )
    if invitation.status == InvitationStatus.SKIPPED:
        raise SurveyClosed(gettext("This survey was not sent."), code="survey_not_sent")
    if (
        invitation.status != InvitationStatus.ANSWERED
        and invitation.expires_at is not None
        and invitation.expires_at < at
    ):
        raise SurveyClosed(
            gettext("This survey has closed. Thank you all the same."), code="survey_expired"
        )
    return invitation


def _new_response(invitation: Invitation, at: dt.datetime, policy: SurveyPolicy) -> SurveyResponse:
    case = invitation.case
    topic = ""
    if case is not None and isinstance(case.triage, dict):
        topic = str(case.triage.get("topic") or "")[:40]
    return SurveyResponse(
        invitation=invitation,
        survey=invitation.survey,
        customer=invitation.customer,
        case=case,
        owner_id=case.owner_id if case else None,
        team_id=case.team_id if case else None,
        case_kind=case.kind if case else "",
        case_channel=case.channel if case else "",
        topic=topic,
        created_at=at,
        updated_at=at,
        editable_until=at + dt.timedelta(days=policy.edit_days),
    )


@transaction.atomic
def record_answers(
    invitation: Invitation,
    values: Mapping[int, Any],
    *,
    at: dt.datetime | None = None,
    from_click: bool = False,
    replace: bool = False,
) -> Recorded:
    """Record or change the answers to an invitation (``values``: question id → raw value).

    Answers can be changed until ``editable_until`` (the policy's edit_days after the first
    answer). With ``replace`` the given values are the whole form: a question left empty
    loses its earlier answer. Replaying the same answers changes nothing and writes nothing.
    Refuses an expired or unsent invitation and locked answers (SurveyClosed:
    'survey_expired', 'survey_not_sent', 'answers_locked') and invalid values
    (FeedbackError 'invalid_answer', field ``q<id>``).
    Writes survey.answered / survey.answer_changed and compliment.credited; updates the
    customer's NPS group and loyalty level; a low score opens or reopens a case once
    (at once, or after CLICK_SETTLE for a one-click answer: see close_loop_task); queues
    the survey.answered webhook.
    """
    at = at or now()
    invitation = _open_invitation(invitation, at)
    policy = queries.policy()
    questions = {q.pk: q for q in queries.questions_of(invitation.survey_id)}
    cleaned: dict[int, tuple[int | None, str] | None] = {}
    for question_id, raw in values.items():
        question = questions.get(question_id)
        if question is not None:
            cleaned[question_id] = _clean_value(question, raw)
    response = SurveyResponse.objects.filter(invitation=invitation).first()
    first = response is None
    if response is None:
        response = _new_response(invitation, at, policy)
    elif response.editable_until < at:
        raise SurveyClosed(
            gettext("These answers can no longer be changed. Thank you for them."),
            code="answers_locked",
        )
    existing = {} if first else {a.question_id: a for a in response.answers.all()}
    if first and not any(v is not None for v in cleaned.values()):
        raise FeedbackError(gettext("Answer at least one question."), code="no_answer")
    if replace:
        cleaned.update({qid: None for qid in existing if qid not in cleaned})
    if first:
        response.save()
    changed = first
    for question_id, value in cleaned.items():
        answer = existing.get(question_id)
        if value is None:
            if answer is not None:
                answer.delete()
                del existing[question_id]
                changed = True
            continue
        value_int, value_text = value
        if answer is None:
            existing[question_id] = Answer.objects.create(
                response=response,
                question_id=question_id,
                value_int=value_int,
                value_text=value_text,
                answered_at=at,
            )
            changed = True
        elif (answer.value_int, answer.value_text) != (value_int, value_text):
            answer.value_int, answer.value_text, answer.answered_at = value_int, value_text, at
            answer.save(update_fields=["value_int", "value_text", "answered_at"])
            changed = True
    if not changed:
        return Recorded(response=response, changed=False, first=False)
    _apply_headlines(response, [(questions[qid], a) for qid, a in existing.items()])
    response.updated_at = at
    if not first:
        response.changes += 1
    response.save()
    if first:
        invitation.status = InvitationStatus.ANSWERED
        invitation.answered_at = at
        invitation.save(update_fields=["status", "answered_at"])
    _update_customer_feedback(response, at)
    _credit_compliments(response, at)
    events.record_survey_answered(response, first=first)
    if response.loop_case_id is None and is_low(response, policy):
        if from_click:
            close_loop_task = _close_loop_task()
            transaction.on_commit(
                lambda: close_loop_task.using(run_after=at + CLICK_SETTLE).enqueue(response.pk)
            )
        else:
            case = close_loop(response)
            if case is not None:
                response.loop_case = case
    return Recorded(response=response, changed=True, first=first)


def _close_loop_task() -> Any:
    # tasks.py calls the actions; importing it at module level would be a cycle.
    from cherish.feedback.tasks import close_loop_task

    return close_loop_task


@transaction.atomic
def record_click(
    invitation: Invitation, value: int, *, at: dt.datetime | None = None
) -> Recorded | None:
    """One click on an answer in the invitation email records the first question's answer.

    A mail scanner opens every link of a message within seconds. A click with a different
    value less than SCANNER_WINDOW after the previous click is not a person answering: the
    first question's answer is withdrawn (and an answer-less response removed, so the
    response rate does not count scanners) until a click comes after a quiet spell. Returns
    None when the click was set aside. Otherwise as record_answers (a low score's case waits
    CLICK_SETTLE, so a scanner's burst is over before anything is opened).
    """
    at = at or now()
    questions = queries.questions_of(invitation.survey_id)
    if not questions or questions[0].type == QuestionType.TEXT:
        raise FeedbackError(
            gettext("This survey has no one-click question."), code="no_click_question"
        )
    first = questions[0]
    locked = _open_invitation(invitation, at)
    burst = (
        locked.clicked_at is not None
        and at - locked.clicked_at < SCANNER_WINDOW
        and locked.clicked_value != value
    )
    Invitation.objects.filter(pk=locked.pk).update(clicked_at=at, clicked_value=value)
    if not burst:
        return record_answers(locked, {first.pk: value}, at=at, from_click=True)
    response = SurveyResponse.objects.filter(invitation=locked).first()
    if response is None or response.editable_until < at:
        return None
    if response.answers.exclude(question=first).exists():
        record_answers(locked, {first.pk: None}, at=at, from_click=True)
    else:
        response.delete()
        Invitation.objects.filter(pk=locked.pk).update(
            status=InvitationStatus.SENT, answered_at=None
        )
    return None


def _update_customer_feedback(response: SurveyResponse, at: dt.datetime) -> None:
    state, _ = CustomerFeedback.objects.get_or_create(customer_id=response.customer_id)
    fields = ["last_answered_at"]
    state.last_answered_at = at
    if response.nps is not None:
        state.nps, state.nps_group, state.nps_at = response.nps, nps_group(response.nps), at
        fields += ["nps", "nps_group", "nps_at"]
    if response.loyalty_level or response.raving_fan is not None:
        state.loyalty_level = response.loyalty_level or state.loyalty_level
        if response.raving_fan is not None:
            state.raving_fan = response.raving_fan
        state.loyalty_at = at
        fields += ["loyalty_level", "raving_fan", "loyalty_at"]
    if response.csat is not None:
        state.last_csat = response.csat
        fields.append("last_csat")
    state.save(update_fields=fields)


def is_positive(response: SurveyResponse) -> bool:
    """A response whose free text reads as praise when it names someone."""
    return (
        (response.csat or 0) >= AGREED
        or (response.nps or 0) >= 9
        or (response.cared or 0) >= AGREED
    )


def named_staff(text: str) -> list[Staff]:
    """Active staff named in a text by first name or full display name (names of 3+ letters)."""
    found = []
    for staff in Staff.objects.filter(user__is_active=True).only("display_name"):
        names = {staff.display_name, staff.first_name}
        if any(
            len(name) > 2 and re.search(rf"\b{re.escape(name)}\b", text, re.IGNORECASE)
            for name in names
        ):
            found.append(staff)
    return found


def _credit_compliments(response: SurveyResponse, at: dt.datetime) -> None:
    if not response.comment or not is_positive(response):
        return
    already = set(Compliment.objects.filter(response=response).values_list("staff_id", flat=True))
    for staff in named_staff(response.comment):
        if staff.pk in already:
            continue
        Compliment.objects.create(
            staff=staff, response=response, text=response.comment[:2000], created_at=at
        )
        events.record_compliment_credited(response, staff)


# --- closing the loop --------------------------------------------------------------------


def _hand_to_intake(contact: intake_actions.Contact) -> Case:
    """The one door every contact enters by (the only caller in the feedback app).

    Called inside close_loop's transaction, so the door stores the answer as the raw record
    together with the survey's own rows.
    """
    return intake_actions.accept_contact(contact).case


def _loop_text(response: SurveyResponse, reason: str) -> str:
    survey = response.survey
    about = f" about case {response.case.reference}" if response.case else ""
    lines = [f"In our “{survey.name}” survey{about}, I answered: {reason}."]
    answers = (
        response.answers.select_related("question")
        .exclude(question__type=QuestionType.TEXT)
        .order_by("question__order")
    )
    for answer in answers:
        value = answer.value_text or str(answer.value_int)
        lines.append(f"- {answer.question.text} {value}")
    if response.comment:
        lines += ["", response.comment]
    return "\n".join(lines)


@transaction.atomic
def close_loop(response: SurveyResponse) -> Case | None:
    """A low score opens (or, for a case survey, reopens) a case — once per response.

    The contact enters through the one intake door (threaded into the surveyed case by its
    reference), so it is triaged, owned and acknowledged like any complaint. Does nothing
    when the response already opened one or is no longer low (an answer changed within the
    settle time). Writes survey.loop_opened on the case.
    """
    response = (
        SurveyResponse.objects.select_for_update(of=("self",))
        .select_related("survey", "customer", "case", "invitation")
        .get(pk=response.pk)
    )
    reason = is_low(response, queries.policy())
    if response.loop_case_id is not None or not reason:
        return None
    customer = response.customer
    points = dict(
        ContactPoint.objects.filter(customer=customer).order_by("-id").values_list("kind", "value")
    )
    contact = intake_actions.Contact(
        channel=Channel.WEB,
        text=_loop_text(response, reason),
        name=customer.name,
        email=response.invitation.sent_to or points.get(ContactKind.EMAIL, ""),
        phone=points.get(ContactKind.PHONE, ""),
        external_id=customer.external_id or "",
        subject=f"Survey: {reason}"[:200],
        kind=Kind.COMPLAINT,
        case_reference=response.case.reference if response.case else "",
    )
    if not (contact.email or contact.phone or contact.external_id):
        # Without a way to recognise the customer the door would create a stranger.
        return None
    case = _hand_to_intake(contact)
    response.loop_case = case
    response.save(update_fields=["loop_case"])
    events.record_loop_opened(response, case, reason=reason)
    return case


def close_open_loops(*, at: dt.datetime | None = None, limit: int = 200) -> int:
    """Close the loop for low responses still without a case after the settle time (a lost
    or not yet run close_loop_task). Safe to run often."""
    at = at or now()
    policy = queries.policy()
    low = Q(csat__lte=policy.low_satisfaction) | Q(nps__lte=6)
    ids = list(
        SurveyResponse.objects.filter(
            low, loop_case__isnull=True, updated_at__lte=at - CLICK_SETTLE
        ).values_list("pk", flat=True)[:limit]
    )
    opened = 0
    for pk in ids:
        if close_loop(SurveyResponse(pk=pk)) is not None:
            opened += 1
    return opened


# --- from the customer's own case page ---------------------------------------------------


@transaction.atomic
def rate_from_case_page(case: Case, survey: Survey, value: int) -> Recorded:
    """The rating the customer's case page offers once the case is resolved.

    Uses the case's invitation when one was emailed, else records one for the case page
    (never counted against the survey cap: the customer chose to answer). The first
    question's answer is recorded as record_answers does (a low one opens the loop at once).
    """
    if not survey.wants_case_kind(case.kind) or not survey.is_active:
        raise FeedbackError(gettext("There is no rating for this case."), code="no_rating")
    at = now()
    invitation = Invitation.objects.filter(survey=survey, case=case).first()
    if invitation is None or invitation.status == InvitationStatus.SKIPPED:
        if invitation is not None:
            invitation.delete()
        invitation = Invitation.objects.create(
            survey=survey,
            customer_id=case.customer_id,
            case=case,
            channel=InvitationChannel.CASE_PAGE,
            status=InvitationStatus.SENT,
            created_at=at,
            expires_at=at + dt.timedelta(days=survey.link_valid_days),
        )
    questions = queries.questions_of(survey.pk)
    if not questions:
        raise FeedbackError(gettext("There is no rating for this case."), code="no_rating")
    return record_answers(invitation, {questions[0].pk: value}, at=at)


# --- opting out --------------------------------------------------------------------------


@transaction.atomic
def opt_out_of_surveys(customer: Customer) -> CustomerFeedback:
    """The customer asked for no more surveys. Idempotent. Writes survey.opted_out once."""
    state, _ = CustomerFeedback.objects.select_for_update().get_or_create(customer=customer)
    if not state.surveys_opted_out:
        state.surveys_opted_out = True
        state.opted_out_at = now()
        state.save(update_fields=["surveys_opted_out", "opted_out_at"])
        events.record_survey_opt_out(customer)
    return state


# --- expectations feed the care targets ---------------------------------------------------


EXPECTATION_FOR_KIND = {Kind.COMPLAINT: Measure.EXPECT_COMPLAINT}


@transaction.atomic
def set_target_from_expectations(
    kind: str, severity: str, *, by: Staff | None, measure: str = Measure.EXPECT_COMPLAINT
) -> Target:
    """Set the resolution target of (kind, severity) to the customers' median expectation.

    The median number of days customers said ``measure`` should take is converted to
    business minutes with the organisation's working day; the target's source becomes
    "what customers said they expect" and its note records the median and the sample size.
    Refuses without answers ('no_expectations'). Returns the care Target.
    """
    if measure not in EXPECTATION_MEASURES:
        raise FeedbackError(gettext("Choose an expectation question."), code="unknown_measure")
    expectation = queries.expectation(measure)
    if expectation.sample == 0 or expectation.median is None:
        raise FeedbackError(
            gettext("No customer has answered this expectation question yet."),
            code="no_expectations",
        )
    minutes = max(1, round(expectation.median * business_minutes_per_calendar_day()))
    note = (
        f"Median of {expectation.sample} customer answers: {expectation.median:g} days "
        f"({Measure(measure).label.lower()})."
    )
    target, _ = Target.objects.update_or_create(
        kind=kind,
        severity=severity,
        defaults={
            "resolution_business_minutes": minutes,
            "source": Target.Source.CUSTOMER_EXPECTATION,
            "note": note[:200],
        },
        create_defaults={
            "first_response_business_minutes": 240,
            "resolution_business_minutes": minutes,
            "source": Target.Source.CUSTOMER_EXPECTATION,
            "note": note[:200],
        },
    )
    del by  # the care target has no actor column; the note says where the figure came from
    return target


def business_minutes_per_calendar_day() -> float:
    """The organisation's working minutes in an average calendar day (a week's / 7).

    Customers count days on the calendar; targets count business time. Five nine-to-five
    days make 2,400 minutes a week, so "3 days" becomes 3 × 2400 / 7 ≈ 1,029 minutes.
    """
    schedule = schedule_for_team(None)
    week = sum(
        (
            dt.datetime.combine(dt.date.min, end) - dt.datetime.combine(dt.date.min, start)
        ).total_seconds()
        for windows in schedule.days.values()
        for start, end in windows
    )
    return week / 60 / 7
