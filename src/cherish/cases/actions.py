"""Every change to a case, its messages and its owner. Each action writes its events."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext

from cherish.cases import events, outgoing
from cherish.cases.access import check_may_work
from cherish.cases.errors import CaseError, CaseForbidden
from cherish.cases.models import (
    Attachment,
    Case,
    Channel,
    Direction,
    Kind,
    Message,
    Severity,
    Stage,
)
from cherish.core.clock import now
from cherish.core.references import new_reference
from cherish.core.rows import Maker, RowInsert
from cherish.core.text import excerpt
from cherish.customers.models import Customer
from cherish.staff.access import leads_team, scope_of
from cherish.staff.models import AssignmentRule, Staff, Team

SEVERITY_PRIORITY = {"low": 0, "normal": 10, "high": 20, "critical": 30}


@dataclass(frozen=True)
class NewAttachment:
    name: str
    content_type: str
    content: bytes


def _team_id_for(kind: str, channel: str) -> Coalesce:
    """SQL for the id of the team that receives a new case of ``kind`` from ``channel``.

    The first assignment rule (by priority) for the kind that names no channel or this
    channel; without one, the first team created.
    """
    rule_team = (
        AssignmentRule.objects.filter(kind=kind)
        .filter(Q(channel="") | Q(channel=channel))
        .order_by("priority", "id")
        .values("team_id")[:1]
    )
    first_team = Team.objects.order_by("id").values("id")[:1]
    return Coalesce(Subquery(rule_team), Subquery(first_team))


def _team_for(kind: str, channel: str, *, lock: bool = False) -> Team | None:
    teams = Team.objects.select_for_update() if lock else Team.objects.all()
    return teams.filter(pk=_team_id_for(kind, channel)).first()


def _available_staff() -> QuerySet[Staff]:
    return (
        Staff.objects.select_related("team")
        .filter(is_available=True, user__is_active=True)
        .order_by(F("last_assigned_at").asc(nulls_first=True), "id")
    )


def pick_owner(team: Team | None) -> tuple[Staff | None, str]:
    """Round-robin among the team's available staff; the one assigned longest ago goes next.

    Falls back to the team lead, then any available staff member, so that a case is never
    left without a person ("call once": the customer deals with one named owner).
    Must run inside the caller's transaction; the team row is locked so two concurrent
    intakes cannot both pick the same member. (SQLite has no row locks: there the
    IMMEDIATE transaction already holds the database's single write lock, which serialises
    intakes just the same, so the lock query is skipped.) The owner comes with its team.
    """
    if team is not None and connection.features.has_select_for_update:
        Team.objects.select_for_update().filter(pk=team.pk).first()
    return _pick_owner_locked(team)


def _pick_owner_locked(team: Team | None) -> tuple[Staff | None, str]:
    if team is not None:
        member = _available_staff().filter(team=team).first()
        if member is not None:
            return member, "round_robin"
        if team.lead_id is not None:
            return team.lead, "team_lead"
    return _available_staff().first(), "any_available"


def _team_and_owner(kind: str, channel: str) -> tuple[Team | None, Staff | None, str]:
    """The receiving team and the owner pick_owner chooses there, in as few queries as the
    database allows: on SQLite (no row locks, the write lock is already held) usually one
    query finds the next member of the rule's team; elsewhere the team row is looked up and
    locked in one query, then the member is picked."""
    if not connection.features.has_select_for_update:
        member = _available_staff().filter(team_id=_team_id_for(kind, channel)).first()
        if member is not None:
            return member.team, member, "round_robin"
        team = _team_for(kind, channel)
    else:
        team = _team_for(kind, channel, lock=True)
    owner, rule = _pick_owner_locked(team)
    return team, owner, rule


class OwnerPicker:
    """Owners for a batch of new cases, picked in memory from one read of teams and staff.

    Makes the choices ``pick_owner`` makes case by case (the rule's team, round-robin among
    its available members by ``last_assigned_at``, then its lead, then anyone available),
    moving each member picked to the back of the line, so a batch of forty complaints costs
    three queries instead of forty. The caller holds the write lock for the whole batch
    (SQLite's one writer; on PostgreSQL the team rows are locked here), so no other intake
    picks in between. The intake applier uses one per batch (intake.applier).
    """

    def __init__(
        self, rules: list[tuple[str, str, int]], teams: list[Team], staff: list[Staff]
    ) -> None:
        self.rules = rules
        self.teams = {team.pk: team for team in teams}
        self.first_team = min(self.teams.values(), key=lambda team: team.pk, default=None)
        self.line = staff

    @classmethod
    def load(cls) -> OwnerPicker:
        """The picker for a batch. Reuses the teams, rules and staff this process read
        before while one cheap read shows them unchanged (``_owner_state``), with the line
        in the order the database has now (others assign cases too); else reads them."""
        state = _owner_state()
        signature = (state[0], state[1], frozenset(state[2]))
        key = (os.getpid(), connection.alias, str(connection.settings_dict["NAME"]))
        cached = _pickers.get(key)
        if cached is not None and cached[0] == signature:
            known = cached[1]
            by_id = {member.pk: member for member in known.line}
            return cls(
                list(known.rules),
                list(known.teams.values()),
                [by_id[row[0]] for row in state[2]],
            )
        teams = Team.objects.select_related("lead__team", "lead__user").order_by("id")
        if connection.features.has_select_for_update:
            teams = teams.select_for_update(of=("self",))
        rules = list(
            AssignmentRule.objects.order_by("priority", "id").values_list(
                "kind", "channel", "team_id"
            )
        )
        picker = cls(rules, list(teams), list(_available_staff().select_related("user")))
        if [member.pk for member in picker.line] == [row[0] for row in state[2]]:
            _pickers[key] = (signature, cls(rules, list(picker.teams.values()), list(picker.line)))
        return picker

    def team_for(self, kind: str, channel: str) -> Team | None:
        for rule_kind, rule_channel, team_id in self.rules:
            if rule_kind == kind and rule_channel in ("", channel):
                return self.teams.get(team_id)
        return self.first_team

    def pick(self, kind: str, channel: str) -> tuple[Team | None, Staff | None, str]:
        team = self.team_for(kind, channel)
        if team is not None:
            member = next((s for s in self.line if s.team_id == team.pk), None)
            if member is not None:
                return team, self._to_back(member), "round_robin"
            if team.lead_id is not None:
                return team, team.lead, "team_lead"
        member = self.line[0] if self.line else None
        return team, self._to_back(member) if member is not None else None, "any_available"

    def _to_back(self, member: Staff) -> Staff:
        self.line.remove(member)
        self.line.append(member)
        return member


# Per process and database: (what _owner_state read, the picker built from it). The staff
# objects in it are shared by the batches of this process and must not be changed.
_pickers: dict[tuple[int, str, str], tuple[Any, OwnerPicker]] = {}


def _owner_state() -> tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]]:
    """Everything an OwnerPicker is built from and shows, in three plain statements (no ORM:
    building the picker's ORM queries cost a batch of one more CPU than applying it):
    teams with their leads, the assignment rules, and the available staff in line order
    (``_available_staff``). On PostgreSQL the team rows are locked, as OwnerPicker needs."""
    quote = connection.ops.quote_name
    staff = quote(Staff._meta.db_table)
    team = quote(Team._meta.db_table)
    user_model = Staff._meta.get_field("user").related_model
    user = quote(user_model._meta.db_table)
    rule = quote(AssignmentRule._meta.db_table)
    lock = f" FOR UPDATE OF {team}" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {team}.id, {team}.name, {team}.lead_id, lead.display_name, lead.team_id,"
            f" lead_user.username FROM {team}"
            f" LEFT JOIN {staff} lead ON lead.id = {team}.lead_id"
            f" LEFT JOIN {user} lead_user ON lead_user.id = lead.user_id"
            f" ORDER BY {team}.id{lock}"
        )
        teams = tuple(map(tuple, cursor.fetchall()))
        cursor.execute(f"SELECT kind, channel, team_id FROM {rule} ORDER BY priority, id")
        rules = tuple(map(tuple, cursor.fetchall()))
        cursor.execute(
            f"SELECT s.id, s.display_name, s.team_id, u.username FROM {staff} s"
            f" JOIN {user} u ON u.id = s.user_id WHERE s.is_available AND u.is_active"
            " ORDER BY CASE WHEN s.last_assigned_at IS NULL THEN 0 ELSE 1 END,"
            " s.last_assigned_at, s.id"
        )
        line = tuple(map(tuple, cursor.fetchall()))
    return teams, rules, line


def _store_attachments(message: Message, attachments: Iterable[NewAttachment]) -> None:
    for item in attachments:
        attachment = Attachment(
            message=message,
            original_name=item.name[:255],
            content_type=item.content_type[:100],
            size=len(item.content),
        )
        attachment.file.save(item.name, ContentFile(item.content), save=False)
        attachment.save()


def _add_message_row(
    case: Case,
    *,
    direction: str,
    channel: str,
    body_text: str,
    body_html: str = "",
    subject: str = "",
    author: Staff | None = None,
    external_id: str = "",
    is_automatic: bool = False,
    attachments: Iterable[NewAttachment] = (),
) -> Message:
    at = now()
    message = Message.objects.create(
        case=case,
        direction=direction,
        channel=channel,
        author=author,
        body_text=body_text,
        body_html=body_html,
        subject=subject,
        external_id=external_id,
        is_automatic=is_automatic,
        created_at=at,
    )
    _store_attachments(message, attachments)
    events.record_message_added(
        case,
        by=author,
        message_id=message.pk,
        direction=direction,
        channel=channel,
        excerpt=excerpt(body_text, 160),
    )
    return message


def _create_with_unique_reference(reference: str | None = None, **fields: Any) -> Case:
    """Insert a case, drawing a new reference if the random one is already taken.

    With a million cases a clash is rare (about 1 in 700) but certain to happen eventually;
    the savepoint keeps the caller's transaction usable after the failed insert. A
    ``reference`` given (one the customer was already told) is tried first.
    """
    for attempt in range(5):
        try:
            with transaction.atomic():
                chosen = reference if attempt == 0 and reference else new_reference()
                return Case.objects.create(reference=chosen, **fields)
        except IntegrityError as error:
            if "reference" not in str(error):
                raise
    raise CaseError(
        gettext("Could not allocate a case reference; try again."), code="reference_clash"
    )


@transaction.atomic
def open_case(
    customer: Customer,
    *,
    text: str,
    channel: str = Channel.WEB,
    kind: str = Kind.COMPLAINT,
    subject: str = "",
    body_html: str = "",
    order_reference: str = "",
    external_id: str = "",
    attachments: Iterable[NewAttachment] = (),
    by: Staff | None = None,
    kind_set_by_staff: bool = False,
    reply_to: str = "",
    reference: str | None = None,
    owners: OwnerPicker | None = None,
) -> tuple[Case, Message]:
    """Open a case with the customer's first message and give it one owner at once.

    ``kind_set_by_staff`` marks the kind as final (a person chose it; triage keeps off).
    ``reply_to`` is the email address the contact came from: the case's emails go there.
    ``reference``: the one the customer was already given, if any (kept unless taken).
    ``owners``: a batch's OwnerPicker (the intake applier), else the owner is looked up here.
    Writes case.opened, message.added and case.owner_assigned.
    """
    at = now()
    team, owner, rule = (
        owners.pick(kind, channel) if owners is not None else _team_and_owner(kind, channel)
    )
    case = _create_with_unique_reference(
        reference,
        customer=customer,
        kind=kind,
        kind_set_by_staff=kind_set_by_staff,
        channel=channel,
        subject=subject[:200],
        order_reference=order_reference[:100],
        reply_to=reply_to[:254],
        owner=owner,
        team=owner.team if owner is not None and owner.team_id is not None else team,
        priority=SEVERITY_PRIORITY[Severity.NORMAL],
        created_at=at,
        updated_at=at,
        last_inbound_at=at,
        message_count=1,
    )
    events.record_case_opened(case, by=by, channel=channel, kind=kind)
    message = _add_message_row(
        case,
        direction=Direction.INBOUND,
        channel=channel,
        body_text=text,
        body_html=body_html,
        subject=subject[:200],
        external_id=external_id,
        attachments=attachments,
        author=by if channel in (Channel.PHONE, Channel.VISIT, Channel.SOCIAL) else None,
    )
    if owner is not None:
        Staff.objects.filter(pk=owner.pk).update(last_assigned_at=at)
    events.record_owner_assigned(case, by=by, owner=owner, rule=rule)
    return case, message


@dataclass(frozen=True)
class NewCase:
    """One case of a batch for ``open_cases``: open_case's arguments for a customer's contact."""

    customer: Customer
    text: str
    channel: str = Channel.WEB
    kind: str = Kind.COMPLAINT
    subject: str = ""
    body_html: str = ""
    order_reference: str = ""
    external_id: str = ""
    reply_to: str = ""
    reference: str | None = None


@transaction.atomic(savepoint=False)
def open_cases(new: list[NewCase], *, owners: OwnerPicker) -> list[tuple[Case, Message]]:
    """``open_case`` for a batch of customers' contacts (the intake applier): the same cases,
    messages, owners and events, with one INSERT per table instead of one per row.

    Owners are picked in memory by ``owners`` in the order of ``new``. A reference already
    taken is replaced by a new draw (as open_case does); an IntegrityError (a new draw that
    clashed, a rare race) rolls the whole batch back for the caller to apply one by one.
    Writes case.opened, message.added and case.owner_assigned for each case, in that order.
    """
    at = now()
    wanted = [spec.reference for spec in new if spec.reference]
    taken: set[str] = set()
    if wanted:
        # Plain SQL: the ORM's building of this one lookup cost more than running it.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT reference FROM {connection.ops.quote_name(Case._meta.db_table)}"
                f" WHERE reference IN ({', '.join(['%s'] * len(wanted))})",
                wanted,
            )
            taken = {row[0] for row in cursor.fetchall()}
    picks = []
    cases = []
    for spec in new:
        team, owner, rule = owners.pick(spec.kind, spec.channel)
        reference = spec.reference
        while not reference or reference in taken:
            reference = new_reference()
        taken.add(reference)
        picks.append((owner, rule))
        cases.append(
            _NEW_CASE(
                reference=reference,
                customer=spec.customer,
                kind=spec.kind,
                kind_set_by_staff=False,
                channel=spec.channel,
                subject=spec.subject[:200],
                order_reference=spec.order_reference[:100],
                reply_to=spec.reply_to[:254],
                owner=owner,
                team=owner.team if owner is not None and owner.team_id is not None else team,
                priority=SEVERITY_PRIORITY[Severity.NORMAL],
                created_at=at,
                updated_at=at,
                last_inbound_at=at,
                message_count=1,
            )
        )
    _CASE_ROWS.add(cases)
    messages = [
        _NEW_MESSAGE(
            case=case,
            direction=Direction.INBOUND,
            channel=spec.channel,
            author=None,
            body_text=spec.text,
            body_html=spec.body_html,
            subject=spec.subject[:200],
            external_id=spec.external_id,
            created_at=at,
        )
        for case, spec in zip(cases, new, strict=True)
    ]
    _MESSAGE_ROWS.add(messages)
    rows: list[tuple[Case, str, Staff | None, dict[str, Any]]] = []
    for case, message, spec, (owner, rule) in zip(cases, messages, new, picks, strict=True):
        rows.append((case, "case.opened", None, {"channel": spec.channel, "kind": spec.kind}))
        rows.append(
            (
                case,
                "message.added",
                None,
                {
                    "message_id": message.pk,
                    "direction": Direction.INBOUND,
                    "channel": spec.channel,
                    "excerpt": excerpt(spec.text, 160),
                },
            )
        )
        rows.append(
            (
                case,
                "case.owner_assigned",
                None,
                {
                    "owner_id": owner.pk if owner else None,
                    "owner_name": owner.display_name if owner else "",
                    "rule": rule,
                },
            )
        )
    events.record_many(rows)
    # Round-robin reads last_assigned_at: each owner's time is that of their last case here,
    # a microsecond apart, so the next batch goes on where this one stopped.
    last_case = {owner.pk: n for n, (owner, _) in enumerate(picks) if owner is not None}
    _set_last_assigned([(at + dt.timedelta(microseconds=n), pk) for pk, n in last_case.items()])
    return list(zip(cases, messages, strict=True))


# Plain multi-row INSERTs: bulk_create's statement building cost more CPU than the rest of
# a batch of new cases (core.rows).
_CASE_ROWS = RowInsert(Case)
_MESSAGE_ROWS = RowInsert(Message)
_NEW_CASE = Maker(Case)
_NEW_MESSAGE = Maker(Message)


def _set_last_assigned(times: list[tuple[Any, int]]) -> None:
    """(time, staff id) pairs as one prepared UPDATE; a queryset update per member cost
    more CPU than inserting a batch of cases."""
    if not times:
        return
    field = Staff._meta.get_field("last_assigned_at")
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {quote(Staff._meta.db_table)} SET {quote(str(field.column))} = %s"
            f" WHERE {quote(str(Staff._meta.pk.column))} = %s",
            [(field.get_db_prep_save(at, connection), pk) for at, pk in times],
        )


@transaction.atomic
def add_inbound_message(
    case: Case,
    *,
    text: str,
    channel: str,
    body_html: str = "",
    subject: str = "",
    external_id: str = "",
    attachments: Iterable[NewAttachment] = (),
    by: Staff | None = None,
) -> Message:
    """Add the customer's message to a case; a closed case reopens (its history stays).

    Writes message.added (and case.reopened when it was closed).
    """
    at = now()
    case = Case.objects.select_for_update().get(pk=case.pk)
    if not case.is_open:
        old = case.stage
        case.is_open = True
        case.stage = Stage.RECEIVED
        case.closed_at = None
        events.record_case_reopened(case, by=None, reason="customer wrote again")
        events.record_stage_changed(case, by=None, old=old, new=Stage.RECEIVED)
    message = _add_message_row(
        case,
        direction=Direction.INBOUND,
        channel=channel,
        body_text=text,
        body_html=body_html,
        subject=subject,
        external_id=external_id,
        attachments=attachments,
        author=by,
    )
    case.last_inbound_at = at
    case.updated_at = at
    # The row is locked (select_for_update; SQLite: the transaction holds the write lock),
    # so the count read above is current: no F() expression and no refresh_from_db needed.
    case.message_count += 1
    case.save(
        update_fields=[
            "is_open",
            "stage",
            "closed_at",
            "last_inbound_at",
            "updated_at",
            "message_count",
        ]
    )
    return message


@transaction.atomic
def reply_to_customer(
    case: Case,
    *,
    text: str,
    by: Staff | None,
    body_html: str = "",
    subject: str = "",
    is_automatic: bool = False,
    attachments: Iterable[NewAttachment] = (),
) -> Message:
    """Store an outbound message and queue its email (email, web and API cases).

    The first personal (non-automatic) reply sets the case's first-response time.
    Writes message.added.
    """
    text = text.strip()
    if not text:
        raise CaseError(gettext("Write a reply before sending."), code="empty_reply", field="text")
    at = now()
    message = _add_message_row(
        case,
        direction=Direction.OUTBOUND,
        channel=Channel.EMAIL if case.channel in (Channel.EMAIL, Channel.WEB) else case.channel,
        body_text=text,
        body_html=body_html,
        subject=subject,
        author=by,
        is_automatic=is_automatic,
        attachments=attachments,
    )
    # The email goes into the outbox in this same transaction: stored reply, queued mail.
    outgoing.queue_message_email(message)
    fields = ["updated_at", "message_count"]
    if not is_automatic and case.first_response_at is None:
        case.first_response_at = at
        fields.append("first_response_at")
    case.updated_at = at
    case.message_count = F("message_count") + 1
    case.save(update_fields=fields)
    case.refresh_from_db(fields=["message_count"])
    return message


@transaction.atomic
def add_internal_note(case: Case, *, text: str, by: Staff) -> Message:
    """An internal note: staff only, never shown to the customer. Writes message.added."""
    text = text.strip()
    if not text:
        raise CaseError(gettext("Write the note first."), code="empty_note", field="text")
    message = _add_message_row(
        case, direction=Direction.NOTE, channel=case.channel, body_text=text, author=by
    )
    case.updated_at = now()
    case.save(update_fields=["updated_at"])
    return message


@transaction.atomic
def reassign_case(case: Case, *, to: Staff, note: str, by: Staff | None) -> Case:
    """Hand the case to another owner with a note the new owner sees first.

    Refuses without a handoff note (code 'handoff_note_required'): without it the customer
    has to explain everything again. The case stays with its team when the new owner works
    for it; moving it to another team (a hand-over or take-over across teams) is for the
    case team's lead or manager ('cross_team_handoff', 403). Writes case.owner_changed.
    """
    note = note.strip()
    if case.owner_id == to.pk:
        raise CaseError(
            gettext("%(name)s already owns this case.") % {"name": to.display_name},
            code="same_owner",
        )
    if len(note) < 10:
        raise CaseError(
            gettext(
                "Write a handoff note (at least a sentence) so the new owner does not have to "
                "ask the customer again."
            ),
            code="handoff_note_required",
            field="note",
        )
    stays = case.team_id is not None and case.team_id in scope_of(to).team_ids
    crosses = not stays and case.team_id is not None
    if crosses and by is not None and not leads_team(by, case.team_id):
        raise CaseForbidden(
            gettext(
                "%(name)s does not work for %(team)s: only its lead or manager "
                "can move the case to another team."
            )
            % {"name": to.display_name, "team": case.team},
            code="cross_team_handoff",
        )
    old = case.owner
    case.owner = to
    case.team = case.team if stays else (to.team or case.team)
    case.handoff_note = note
    case.handoff_unread = True
    case.updated_at = now()
    case.save(update_fields=["owner", "team", "handoff_note", "handoff_unread", "updated_at"])
    events.record_owner_changed(case, by=by, old=old, new=to, note=note)
    return case


@transaction.atomic
def take_case(case: Case, *, by: Staff) -> Case:
    """``by`` takes an unassigned case ("Take it" on the inbox).

    Refuses a case someone already owns ('already_owned': hand it over with a note
    instead, so nobody loses the story) and another team's case ('read_only', 403). The
    row is locked first, so two agents taking the same case at once get one owner. An
    unrouted case joins the taker's team. Writes case.owner_assigned (rule "taken").
    """
    check_may_work(by, case)
    owner_id = (
        Case.objects.select_for_update().filter(pk=case.pk).values_list("owner_id", flat=True)
    ).first()
    if owner_id is not None:
        if owner_id == by.pk:
            raise CaseError(gettext("You already own this case."), code="already_owned")
        raise CaseError(
            gettext("Someone already owns this case: ask them to hand it over with a note."),
            code="already_owned",
        )
    case.owner = by
    case.team_id = case.team_id or by.team_id
    case.updated_at = now()
    case.save(update_fields=["owner", "team", "updated_at"])
    events.record_owner_assigned(case, by=by, owner=by, rule="taken")
    return case


def mark_handoff_read(case: Case, *, by: Staff) -> None:
    """The new owner has seen the handoff note."""
    if case.handoff_unread and case.owner_id == by.pk:
        Case.objects.filter(pk=case.pk).update(handoff_unread=False)
        case.handoff_unread = False


@transaction.atomic
def change_stage(case: Case, *, stage: str, by: Staff | None, reason: str = "") -> Case:
    """Move a case to another stage (the care workflow adds its rules on top).

    Writes case.stage_changed, plus case.closed / case.reopened when openness changes.
    """
    if stage not in Stage.values:
        raise CaseError(
            gettext("Unknown stage “%(stage)s”.") % {"stage": stage},
            code="unknown_stage",
            field="stage",
        )
    if stage == case.stage:
        return case
    old = case.stage
    at = now()
    case.stage = stage
    case.updated_at = at
    fields = ["stage", "updated_at", "is_open", "closed_at"]
    events.record_stage_changed(case, by=by, old=old, new=stage, reason=reason)
    if stage == Stage.CLOSED and case.is_open:
        case.is_open = False
        case.closed_at = at
        events.record_case_closed(case, by=by, resolution=reason)
    elif stage != Stage.CLOSED and not case.is_open:
        case.is_open = True
        case.closed_at = None
        events.record_case_reopened(case, by=by, reason=reason)
    case.save(update_fields=fields)
    return case


@transaction.atomic
def change_kind(case: Case, *, kind: str, by: Staff | None) -> Case:
    """Set the kind. A person's choice is final: triage no longer overrides it.

    Writes case.kind_changed.
    """
    if kind not in Kind.values:
        raise CaseError(
            gettext("Unknown kind “%(kind)s”.") % {"kind": kind}, code="unknown_kind", field="kind"
        )
    if by is None and case.kind_set_by_staff:
        return case
    old = case.kind
    case.kind_set_by_staff = case.kind_set_by_staff or by is not None
    if old == kind:
        case.save(update_fields=["kind_set_by_staff"])
        return case
    case.kind = kind
    case.updated_at = now()
    case.save(update_fields=["kind", "kind_set_by_staff", "updated_at"])
    events.record_kind_changed(case, by=by, old=old, new=kind)
    return case


@transaction.atomic
def change_severity(
    case: Case, *, severity: str, by: Staff | None, priority_bonus: int | None = None
) -> Case:
    """Set the severity; the inbox priority follows it. Writes case.severity_changed.

    ``priority_bonus`` is what the case's risk signals add to the priority; None keeps the
    current bonus, so a person changing the severity never drops the case's raised flags
    down the inbox.
    """
    if severity not in Severity.values:
        raise CaseError(
            gettext("Unknown severity “%(severity)s”.") % {"severity": severity},
            code="unknown_severity",
            field="severity",
        )
    if priority_bonus is None:
        priority_bonus = max(case.priority - SEVERITY_PRIORITY[case.severity], 0)
    old = case.severity
    case.severity = severity
    case.priority = SEVERITY_PRIORITY[severity] + priority_bonus
    case.updated_at = now()
    case.save(update_fields=["severity", "priority", "updated_at"])
    if old != severity:
        events.record_severity_changed(case, by=by, old=old, new=severity)
    return case
