"""Apply triage results to cases, and record staff corrections as labelled examples."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from cherish.cases import actions as case_actions
from cherish.cases.actions import SEVERITY_PRIORITY
from cherish.cases.events import record_case_event
from cherish.cases.models import SEVERITY_RANK, Case, Direction, Kind, Message
from cherish.core.clock import now
from cherish.customers.actions import LanguageSource, remember_language
from cherish.staff.models import Staff
from cherish.triage import case_signals, events
from cherish.triage.case_signals import CASE_FLAGS, FLAG_LABELS
from cherish.triage.engine.langdetect import LANGUAGES
from cherish.triage.engine.result import DEFAULT_TOPICS, EMOTIONS, KINDS, PHASES, URGENCIES
from cherish.triage.errors import TriageError
from cherish.triage.models import Correction, TriageRecord

URGENCY_SEVERITY = {"critical": "critical", "high": "high"}
# Fields of a reading staff can correct, with their allowed values (topic is open-ended:
# an organisation may route by topics of its own).
CORRECTABLE: dict[str, tuple[str, ...] | None] = {
    "kind": KINDS,
    "emotion": EMOTIONS,
    "urgency": URGENCIES,
    "topic": None,
    "phase": PHASES,
    "language": LANGUAGES,
}
TOPIC_CHOICES = DEFAULT_TOPICS
MAX_REASON = 500
# How much of a case's inbound text a flag correction keeps as its labelled example.
_LABEL_TEXT_CHARS = 4000


def badges_for(result: dict[str, Any]) -> list[str]:
    """The flags one triage result raises, most alarming first."""
    return case_signals.flags_in(result)


def _credit_named_staff(case: Case, text: str) -> list[Staff]:
    """Staff named in a compliment, matched on first name or full display name."""
    credited = []
    for staff in Staff.objects.filter(user__is_active=True):
        names = {staff.display_name, staff.first_name}
        if any(
            re.search(rf"\b{re.escape(name)}\b", text, re.IGNORECASE)
            for name in names
            if len(name) > 2
        ):
            credited.append(staff)
    for staff in credited:
        record_case_event(
            case, "compliment.credited", by=None, staff_id=staff.pk, staff_name=staff.display_name
        )
    return credited


def _store_signals(
    case: Case, signals: dict[str, Any], *, removing: str = "", **fields: Any
) -> list[str]:
    """Save the case's signals with what the inbox reads from them (badges, at-risk,
    priority) in one UPDATE; ``case`` is updated in memory too. Returns the badges."""
    badges = case_signals.badges(case.badges, signals, removing=removing)
    at_risk = bool(badges) if removing else bool(badges) or case.at_risk
    priority = SEVERITY_PRIORITY[case.severity] + case_signals.priority_bonus(signals)
    values = {"signals": signals, "badges": badges, "at_risk": at_risk, "priority": priority}
    values.update(fields)
    Case.objects.filter(pk=case.pk).update(**values)
    for name, value in values.items():
        setattr(case, name, value)
    return badges


def _inbound(case: Case) -> list[Message]:
    return list(
        Message.objects.filter(case=case, direction=Direction.INBOUND)
        .only("id", "body_text", "created_at")
        .order_by("created_at", "id")
    )


def _label_text(messages: list[Message]) -> str:
    """The customer's words a flag correction labels: their messages, newest first, capped."""
    return "\n\n".join(m.body_text for m in reversed(messages))[:_LABEL_TEXT_CHARS]


@transaction.atomic
def apply_triage(message: Message, result: dict[str, Any]) -> TriageRecord:
    """Store a triage result for an inbound message and let it steer the case.

    The case's kind follows triage for its first message unless staff set the kind, and a
    complaint turns into a compliment or suggestion only on a sure, untroubled reading; severity
    only rises (never overrides a person's higher rating). The case's signals (raised flags,
    strongest emotion and urgency, stated tenure) only gain from a message: badges, at-risk
    and inbox priority follow them, so a polite "thanks" never erases an earlier "leaving".
    A compliment credits the staff it names. The language the message is written in is
    remembered for the customer when the reading is sure of it (a choice the customer made
    still wins: customers.remember_language). Idempotent per message. Writes
    triage.completed, signal.raised per newly raised flag (and case.kind_changed /
    case.severity_changed, compliment.credited).
    """
    existing = TriageRecord.objects.filter(message=message).first()
    if existing is not None:
        return existing
    case = Case.objects.select_for_update().get(pk=message.case_id)
    record = TriageRecord.objects.create(
        message=message,
        case=case,
        kind=result["kind"],
        result=result,
        model_version=result.get("model_version", ""),
        created_at=now(),
    )
    first_message = not Message.objects.filter(
        case=case, direction=Direction.INBOUND, created_at__lt=message.created_at
    ).exists()
    kind = _kind_to_follow(str(case.kind), result)
    if first_message and not case.kind_set_by_staff:
        case_actions.change_kind(case, kind=kind, by=None)
    wanted = URGENCY_SEVERITY.get(result.get("urgency", ""), case.severity)
    severity = wanted if SEVERITY_RANK[wanted] > SEVERITY_RANK[case.severity] else case.severity
    signals, raised = case_signals.merge_result(
        case.signals, result, message_id=message.pk, at=message.created_at
    )
    case_actions.change_severity(
        case, severity=severity, by=None, priority_bonus=case_signals.priority_bonus(signals)
    )
    reading = {**result, "message_id": message.pk, "message_at": message.created_at.isoformat()}
    shown = case.triage or {}
    # A retried task may read an older message after a newer one: the panel keeps the newest.
    newer_shown = str(shown.get("message_at") or "") > reading["message_at"]
    if newer_shown:
        _store_signals(case, signals)
    else:
        _store_signals(case, signals, triage=reading)
    events.record_triage_completed(
        case,
        message_id=message.pk,
        summary={
            "kind": result["kind"],
            "emotion": result.get("emotion"),
            "urgency": result.get("urgency"),
            "flags": result.get("flags", []),
            "model_version": result.get("model_version", ""),
        },
    )
    for flag in raised:
        events.record_signal_raised(
            case,
            by=None,
            flag=flag,
            source="message",
            message_id=message.pk,
            words=signals["flags"][flag]["words"],
        )
    if first_message and kind == Kind.COMPLIMENT and case.kind == Kind.COMPLIMENT:
        _credit_named_staff(case, message.body_text)
    if _sure_of_language(result):
        remember_language(case.customer, result["language"], source=LanguageSource.MESSAGE)
    return record


# Thanking an unhappy customer for their "kind words" is the worst answer we can give: a
# complaint (the customer's choice on the form, or what every contact starts as) becomes a
# compliment or a suggestion only on a sure reading without any sign of unhappiness. The
# reading itself is kept on the record and the panel, where staff can correct the kind.
_KIND_SURE = 0.8
_UNHAPPY = frozenset({"anger", "frustration", "disappointment", "worry"})


def _kind_to_follow(current: str, result: dict[str, Any]) -> str:
    wanted = str(result["kind"])
    if current == Kind.COMPLAINT and wanted in (Kind.COMPLIMENT, Kind.SUGGESTION):
        unsure = float(result.get("kind_confidence") or 0.0) < _KIND_SURE
        if unsure or result.get("emotion") in _UNHAPPY or result.get("flags"):
            return current
    return wanted


def _sure_of_language(result: dict[str, Any]) -> bool:
    """A language read from a script, or from at least two of its function words: "ok
    thanks" under a German thread must not switch the customer's emails to English."""
    if not result.get("language"):
        return False
    evidence = [str(word) for word in (result.get("reasons") or {}).get("language") or []]
    if any(word.startswith("default") for word in evidence):
        return False
    return any(word.startswith(("script:", "learned")) for word in evidence) or len(evidence) >= 2


def _check_value(field: str, value: str) -> str:
    if field not in CORRECTABLE:
        raise TriageError(
            _("“%(field)s” is not a field you can correct.") % {"field": field},
            code="bad_correction",
        )
    allowed = CORRECTABLE[field]
    value = " ".join(value.split())
    if allowed is None:
        if not value or len(value) > 64:
            raise TriageError(
                _("Give the correct %(field)s (up to 64 characters).") % {"field": field},
                code="bad_correction",
                field=field,
            )
    elif value not in allowed:
        raise TriageError(
            _("“%(value)s” is not a valid %(field)s.") % {"value": value, "field": field},
            code="bad_correction",
            field=field,
        )
    return value


@transaction.atomic
def correct_triage(case: Case, *, field: str, value: str, by: Staff) -> Correction:
    """A staff member corrects one field of how Cherish read the case.

    Every field can be corrected: kind, emotion, urgency, topic, phase, language. The
    correction is stored with the text it labels (the first message for the kind, which the
    case's kind follows; otherwise the message whose reading the panel shows) so
    `cherish triage train` learns from it; a kind correction also sets the case's kind (and
    staff's choice then sticks); an urgency correction sets the urgency on record. Flags are
    added and cleared with ``add_flag`` / ``clear_flag``. Refuses unknown fields or values
    and a "correction" to the value already shown (TriageError 'bad_correction',
    'unchanged'). Writes triage.corrected.
    """
    value = _check_value(field, value)
    case = Case.objects.select_for_update().get(pk=case.pk)
    current = dict(case.triage or {})
    old = str(case.kind if field == "kind" else current.get(field, ""))
    if old == value:
        raise TriageError(
            _("The %(field)s is already “%(value)s”.") % {"field": field, "value": value},
            code="unchanged",
            field=field,
        )
    messages = _inbound(case)
    shown_id = current.get("message_id")
    if field == "kind":
        message = messages[0] if messages else None
    else:
        message = next((m for m in messages if m.pk == shown_id), None) or (
            messages[-1] if messages else None
        )
    correction = Correction.objects.create(
        case=case,
        message=message,
        field=field,
        old_value=old[:64],
        new_value=value,
        text=message.body_text if message else "",
        by=by,
        created_at=now(),
    )
    if field == "kind":
        case_actions.change_kind(case, kind=value, by=by)
    current[field] = value
    current["corrected"] = [*(f for f in current.get("corrected", []) if f != field), field]
    signals = dict(case.signals or {})
    if field == "urgency":
        signals["urgency"] = {"level": value, "by": by.display_name}
    _store_signals(case, signals, triage=current)
    events.record_triage_corrected(case, by=by, field=field, old=old, new=value)
    return correction


def _check_flag(flag: str, reason: str) -> str:
    if flag not in CASE_FLAGS:
        raise TriageError(
            _("“%(flag)s” is not a flag.") % {"flag": flag}, code="unknown_flag", field="flag"
        )
    reason = reason.strip()
    if not reason:
        raise TriageError(
            _("Say why, so the next person knows (a sentence is enough)."),
            code="reason_required",
            field="reason",
        )
    if len(reason) > MAX_REASON:
        raise TriageError(
            _("Keep the reason under %(limit)s characters.") % {"limit": MAX_REASON},
            code="reason_too_long",
            field="reason",
        )
    return reason


@transaction.atomic
def add_flag(case: Case, *, flag: str, reason: str, by: Staff) -> Case:
    """A staff member raises a flag on the case (e.g. leaving, said on the phone).

    It stays raised until someone clears it; badges, at-risk and priority follow. The case's
    inbound text is stored as a labelled example so `cherish triage train` learns the flag.
    Refuses unknown flags, a missing reason, or a flag already raised (TriageError
    'unknown_flag', 'reason_required', 'already_raised'). Writes signal.raised.
    """
    reason = _check_flag(flag, reason)
    case = Case.objects.select_for_update().get(pk=case.pk)
    if flag in case_signals.raised_flags(case.signals) or flag in (case.badges or []):
        raise TriageError(
            _("“%(flag)s” is already raised on this case.") % {"flag": FLAG_LABELS[flag]},
            code="already_raised",
            field="flag",
        )
    signals = case_signals.with_flag(
        case.signals, flag, at=now(), by_id=by.pk, by_name=by.display_name, reason=reason
    )
    messages = _inbound(case)
    Correction.objects.create(
        case=case,
        message=messages[-1] if messages else None,
        field=f"flag:{flag}",
        old_value="no",
        new_value="yes",
        text=_label_text(messages),
        by=by,
        created_at=now(),
    )
    _store_signals(case, signals)
    events.record_signal_raised(case, by=by, flag=flag, source="staff", reason=reason)
    return case


@transaction.atomic
def clear_flag(case: Case, *, flag: str, reason: str, by: Staff) -> Case:
    """A staff member clears a raised flag, saying why; it stays cleared until a new message
    (or a person) raises it again. The text that raised it is kept as a labelled counter-
    example for `cherish triage train`. Refuses unknown flags, a missing reason, or a flag
    that is not raised (TriageError 'unknown_flag', 'reason_required', 'not_raised').
    Writes signal.cleared.
    """
    reason = _check_flag(flag, reason)
    case = Case.objects.select_for_update().get(pk=case.pk)
    raised = (case.signals or {}).get("flags", {}).get(flag)
    if raised is None and flag not in (case.badges or []):
        raise TriageError(
            _("“%(flag)s” is not raised on this case.") % {"flag": FLAG_LABELS[flag]},
            code="not_raised",
            field="flag",
        )
    messages = _inbound(case)
    source = next((m for m in messages if m.pk == (raised or {}).get("message_id")), None)
    Correction.objects.create(
        case=case,
        message=source or (messages[-1] if messages else None),
        field=f"flag:{flag}",
        old_value="yes",
        new_value="no",
        text=source.body_text if source else _label_text(messages),
        by=by,
        created_at=now(),
    )
    signals = case_signals.without_flag(
        case.signals, flag, at=now(), by_id=by.pk, by_name=by.display_name, reason=reason
    )
    _store_signals(case, signals, removing=flag)
    events.record_signal_cleared(case, by=by, flag=flag, reason=reason)
    return case


def forget_signal_text(case_ids: list[int]) -> int:
    """Drop the customer's words and staff's reasons from these cases' signals (erasure)."""
    count = 0
    for pk, signals in Case.objects.filter(pk__in=case_ids).values_list("pk", "signals"):
        if signals:
            Case.objects.filter(pk=pk).update(signals=case_signals.without_personal_text(signals))
            count += 1
    return count
