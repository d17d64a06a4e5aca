"""Identity: duplicate detection, merge and unmerge of customers.

Export and erasure live in cherish/privacy.py (each app forgets its own tables).

These live in outreach, not customers, because they must move or anonymise cases, messages,
attachments and raw intake material, which live in apps above customers in the dependency
order (core ← outbox ← staff ← customers ← cases ← … ← outreach). Every action is logged as a
CustomerEvent; a merge records exactly which rows moved so that unmerge can put them back.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import IntegrityError, transaction
from django.db.models import Exists, ForeignObjectRel, Model, OuterRef, QuerySet
from django.utils.translation import gettext

from cherish.core.clock import now
from cherish.customers.actions import record_customer_event
from cherish.customers.models import (
    ContactKind,
    ContactPoint,
    Customer,
    CustomerEvent,
    DuplicateStatus,
    PossibleDuplicate,
)
from cherish.outreach.errors import OutreachError
from cherish.outreach.models import ChurnScore
from cherish.staff.models import Staff

ERASED = "[erased]"
# Relations a merge does not move: the duplicate's own log stays its own, its score is
# recomputed, and the self-reference is what marks the merge.
NOT_MOVED = {
    ("customers", "customerevent"),
    ("outreach", "churnscore"),
    ("customers", "customer"),
    ("customers", "possibleduplicate"),
}

# ---------------------------------------------------------------- duplicates


def name_key(name: str) -> str:
    """Lower-case letters only, accents removed, words sorted: "Dupont, Ann" == "ann dupont"."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z]+", plain)
    return " ".join(sorted(words))


def email_key(email: str) -> str:
    """The mailbox behind an address: no +tag; no dots for Gmail, which ignores them."""
    local, _, domain = email.lower().partition("@")
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def phone_key(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return digits[-9:] if len(digits) >= 9 else ""


@dataclass
class DuplicatePair:
    first: Customer
    second: Customer
    reasons: list[str] = field(default_factory=list)
    similarity: float = 0.0


SIMILAR_NAME_RATIO = 0.88
INTAKE_REASONS = {
    "same_phone": "a contact gave this phone number",
    "same_email": "a contact gave this email address",
}
MAX_BLOCK = 60


# What the scan stores (codes on PossibleDuplicate.reasons) and what the page says for each.
SCAN_REASONS = {
    "same email address": "shared_email",
    "same phone number": "shared_phone",
    "same name": "same_name",
    "similar name": "similar_name",
}
REASON_TEXT = {code: text for text, code in SCAN_REASONS.items()} | INTAKE_REASONS
PAGE_SIZE = 100


def _scored_pairs(
    among: QuerySet[Customer] | None = None,
) -> tuple[set[int], dict[tuple[int, int], list[str]], dict[tuple[int, int], float]]:
    """(live ids, evidence, score) of every candidate pair: reads every live customer and
    contact point, so only the background scan (``scan_duplicates``) and tests call it."""
    live = Customer.objects.filter(merged_into__isnull=True, erased_at__isnull=True)
    if among is not None:
        live = live.filter(pk__in=among.values("pk"))
    names = dict(live.values_list("pk", "name"))
    evidence: dict[tuple[int, int], list[str]] = defaultdict(list)
    score: dict[tuple[int, int], float] = defaultdict(float)

    def pair(a: int, b: int, reason: str, weight: float) -> None:
        key = (min(a, b), max(a, b))
        if reason not in evidence[key]:
            evidence[key].append(reason)
            score[key] += weight

    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    points = ContactPoint.objects.filter(customer__in=live).values_list(
        "customer_id", "kind", "value"
    )
    for cid, kind, value in points.iterator(5000):
        key = email_key(value) if kind == ContactKind.EMAIL else phone_key(value)
        if key:
            groups[(kind, key)].append(cid)
    for (kind, _), ids in groups.items():
        ids = sorted(set(ids))[:MAX_BLOCK]
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                pair(
                    a,
                    b,
                    "same email address" if kind == ContactKind.EMAIL else "same phone number",
                    2.0,
                )

    blocks: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for pk, name in names.items():
        key = name_key(name)
        if len(key) >= 4:
            blocks[key[:3]].append((pk, key))
    for members in blocks.values():
        members = members[: MAX_BLOCK * 4]
        for i, (a, ka) in enumerate(members):
            for b, kb in members[i + 1 :]:
                if ka == kb:
                    pair(a, b, "same name", 1.0)
                    continue
                ratio = difflib.SequenceMatcher(None, ka, kb).ratio()
                if ratio >= SIMILAR_NAME_RATIO:
                    pair(a, b, "similar name", ratio * 0.8)
    # Pairs intake noticed (a contact gave one record's phone with another's email) come
    # first; pairs a person already decided about are never offered again.
    live_ids = set(names)
    recorded = PossibleDuplicate.objects.values_list("first_id", "second_id", "status", "reasons")
    for first, second, status, reasons in recorded.iterator(5000):
        if status != DuplicateStatus.OPEN:
            evidence.pop((first, second), None)
            score.pop((first, second), None)
        elif first in live_ids and second in live_ids:
            for code in reasons or ["noticed at intake"]:
                if code in REASON_TEXT and code not in INTAKE_REASONS:
                    continue  # the scan's own earlier finding: found again above or gone
                pair(first, second, INTAKE_REASONS.get(code, code), 3.0)
    return live_ids, evidence, score


def find_duplicates(
    *, limit: int = 200, among: QuerySet[Customer] | None = None
) -> list[DuplicatePair]:
    """Pairs of live customers that are probably one person, strongest evidence first.

    Same mailbox (after normalising), same phone number (last nine digits, so national and
    international forms meet), or names that are equal or nearly equal (difflib ratio on
    candidates blocked by the first letters of the name key, so the work stays linear).
    With ``among``, only pairs of those customers (the viewer's, customers.access).
    Reads every customer: the desk page reads ``open_duplicates`` (what the scan stored).
    """
    _, evidence, score = _scored_pairs(among)
    ranked = sorted(score, key=lambda k: -score[k])[:limit]
    customers = Customer.objects.in_bulk({pk for key in ranked for pk in key})
    return [
        DuplicatePair(customers[a], customers[b], evidence[(a, b)], round(score[(a, b)], 2))
        for a, b in ranked
        if a in customers and b in customers
    ]


def scan_duplicates(*, batch: int = 2000) -> dict[str, int]:
    """Store every candidate pair as an open PossibleDuplicate with its score (the
    background job: the ticker runs it, and django-tasks as ``scan_duplicates_task``).

    A pair a person decided about stays decided; reasons intake recorded are kept; an open
    pair the scan found before and no longer finds (a contact point changed, a record was
    merged or erased) is removed. Returns counts (found, created, updated, removed).
    """
    _, evidence, score = _scored_pairs()
    stored = {
        (first, second): (pk, status, list(reasons or []), stored_score)
        for pk, first, second, status, reasons, stored_score in (
            PossibleDuplicate.objects.values_list(
                "pk", "first_id", "second_id", "status", "reasons", "score"
            ).iterator(5000)
        )
    }
    at = now()
    new: list[PossibleDuplicate] = []
    changed: list[PossibleDuplicate] = []
    for key, reasons in evidence.items():
        codes = [SCAN_REASONS[r] for r in reasons if r in SCAN_REASONS]
        value = round(score[key], 3)
        if key not in stored:
            new.append(
                PossibleDuplicate(
                    first_id=key[0], second_id=key[1], reasons=codes, score=value, created_at=at
                )
            )
            continue
        pk, status, old_reasons, old_score = stored[key]
        if status != DuplicateStatus.OPEN:
            continue
        kept = [code for code in old_reasons if code not in SCAN_REASONS.values()]
        merged = kept + [code for code in codes if code not in kept]
        if merged != old_reasons or old_score != value:
            changed.append(PossibleDuplicate(pk=pk, reasons=merged, score=value))
    gone = [
        pk
        for key, (pk, status, old_reasons, _) in stored.items()
        if status == DuplicateStatus.OPEN
        and key not in evidence
        and old_reasons
        and all(code in SCAN_REASONS.values() for code in old_reasons)
    ]
    with transaction.atomic():
        PossibleDuplicate.objects.bulk_create(new, batch_size=batch, ignore_conflicts=True)
        PossibleDuplicate.objects.bulk_update(changed, ["reasons", "score"], batch_size=batch)
        for start in range(0, len(gone), batch):
            PossibleDuplicate.objects.filter(pk__in=gone[start : start + batch]).delete()
    return {
        "found": len(evidence),
        "created": len(new),
        "updated": len(changed),
        "removed": len(gone),
    }


@dataclass
class DuplicatePage:
    pairs: list[DuplicatePair]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def open_duplicates(*, page: int = 1, among: QuerySet[Customer] | None = None) -> DuplicatePage:
    """One page of the stored open pairs, highest score first (PAGE_SIZE + 1 rows read down
    the ``possible_duplicate_ranked`` index, whatever the number of customers). With
    ``among``, only pairs of which the viewer may see both customers (customers.access)."""
    pairs = PossibleDuplicate.objects.filter(
        status=DuplicateStatus.OPEN,
        first__merged_into__isnull=True,
        first__erased_at__isnull=True,
        second__merged_into__isnull=True,
        second__erased_at__isnull=True,
    )
    if among is not None:
        pairs = pairs.filter(
            Exists(among.filter(pk=OuterRef("first_id"))),
            Exists(among.filter(pk=OuterRef("second_id"))),
        )
    offset = (page - 1) * PAGE_SIZE
    rows = list(
        pairs.select_related("first", "second").order_by("-score", "-id")[
            offset : offset + PAGE_SIZE + 1
        ]
    )
    return DuplicatePage(
        pairs=[
            DuplicatePair(
                row.first,
                row.second,
                [REASON_TEXT.get(code, code) for code in row.reasons or ["noticed at intake"]],
                row.score,
            )
            for row in rows[:PAGE_SIZE]
        ],
        number=page,
        has_next=len(rows) > PAGE_SIZE,
    )


# ---------------------------------------------------------------- merge


def _reverse_relations(target: type[Model]) -> list[tuple[type[Model], str]]:
    """(model, foreign key name) of every model of any app that points at ``target``."""
    relations = []
    for rel in target._meta.get_fields(include_hidden=True):
        if not isinstance(rel, ForeignObjectRel) or rel.many_to_many:
            continue
        model = rel.related_model
        if isinstance(model, type) and issubclass(model, Model):
            relations.append((model, rel.field.name))
    return relations


def _customer_relations() -> list[tuple[type[Model], str]]:
    return [
        (model, name)
        for model, name in _reverse_relations(Customer)
        if (model._meta.app_label, str(model._meta.model_name)) not in NOT_MOVED
    ]


def _label(model: type[Model], field_name: str) -> str:
    return f"{model._meta.label_lower}:{field_name}"


@transaction.atomic
def merge_customers(survivor: Customer, duplicate: Customer, *, by: Staff | None) -> CustomerEvent:
    """Move everything of ``duplicate`` to ``survivor`` in one step.

    Cases, their events, contact points, transactions, follow-ups, important dates, leave
    reasons — every row of every app that points at a customer — move to the survivor; the
    duplicate keeps its own event log and is marked merged into the survivor. Rows a unique
    constraint keeps on the duplicate (a note already sent for the same moment) stay there.
    Refuses merging a customer into itself, or merged or erased records ('cannot_merge').
    Writes customer.merged (with every moved id, for unmerge) on the survivor and
    customer.merged_into on the duplicate.
    """
    survivor = Customer.objects.select_for_update().get(pk=survivor.pk)
    duplicate = Customer.objects.select_for_update().get(pk=duplicate.pk)
    if survivor.pk == duplicate.pk:
        raise OutreachError(gettext("Choose two different customers."), code="cannot_merge")
    if survivor.merged_into_id or duplicate.merged_into_id:
        raise OutreachError(
            gettext("One of these customers was already merged."), code="cannot_merge"
        )
    if survivor.erased_at or duplicate.erased_at:
        raise OutreachError(gettext("Erased customers cannot be merged."), code="cannot_merge")
    moved: dict[str, list[int]] = {}
    kept: dict[str, list[int]] = {}
    for model, field_name in _customer_relations():
        manager = model._default_manager
        ids = list(manager.filter(**{field_name: duplicate.pk}).values_list("pk", flat=True))
        if not ids:
            continue
        label = _label(model, field_name)
        try:
            with transaction.atomic():
                manager.filter(pk__in=ids).update(**{field_name: survivor.pk})
            moved[label] = ids
        except IntegrityError:
            for pk in ids:
                try:
                    with transaction.atomic():
                        manager.filter(pk=pk).update(**{field_name: survivor.pk})
                    moved.setdefault(label, []).append(pk)
                except IntegrityError:
                    kept.setdefault(label, []).append(pk)
    filled: dict[str, str] = {}
    for name in ("name", "external_id", "notes", "language", "time_zone", "preferred_channel"):
        if getattr(duplicate, name) and not getattr(survivor, name):
            filled[name] = getattr(duplicate, name)
    if "external_id" in filled:
        Customer.objects.filter(pk=duplicate.pk).update(external_id=None)
    if duplicate.customer_since and (
        not survivor.customer_since or duplicate.customer_since < survivor.customer_since
    ):
        filled["customer_since"] = duplicate.customer_since.isoformat()
        filled["customer_since_was"] = (
            survivor.customer_since.isoformat() if survivor.customer_since else ""
        )
    updates = {k: v for k, v in filled.items() if k != "customer_since_was"}
    if updates:
        Customer.objects.filter(pk=survivor.pk).update(**updates)
    duplicate.merged_into = survivor
    duplicate.save(update_fields=["merged_into", "updated_at"])
    ChurnScore.objects.filter(customer=duplicate).delete()
    first, second = sorted((survivor.pk, duplicate.pk))
    PossibleDuplicate.objects.filter(
        first_id=first, second_id=second, status=DuplicateStatus.OPEN
    ).update(status=DuplicateStatus.MERGED, decided_at=now(), decided_by=by)
    event = record_customer_event(
        survivor,
        "customer.merged",
        by=by,
        duplicate_id=duplicate.pk,
        moved=moved,
        kept=kept,
        filled=filled,
    )
    record_customer_event(
        duplicate, "customer.merged_into", by=by, survivor_id=survivor.pk, merge_event_id=event.pk
    )
    return event


@transaction.atomic
def unmerge_customers(event: CustomerEvent, *, by: Staff | None) -> Customer:
    """Reverse a merge from its event: every row that moved goes back to the duplicate.

    Rows that have since been moved again (another merge) stay where they are. Refuses a
    merge already undone ('already_unmerged'). Writes customer.unmerged on both customers.
    Returns the restored duplicate.
    """
    event = CustomerEvent.objects.select_for_update().get(pk=event.pk)
    if event.type != "customer.merged":
        raise OutreachError(gettext("This event is not a merge."), code="not_a_merge")
    if CustomerEvent.objects.filter(
        type="customer.unmerged", customer_id=event.customer_id, data__merge_event_id=event.pk
    ).exists():
        raise OutreachError(gettext("This merge was already undone."), code="already_unmerged")
    survivor = event.customer
    duplicate = Customer.objects.select_for_update().get(pk=event.data["duplicate_id"])
    returned = 0
    for label, ids in event.data.get("moved", {}).items():
        model_label, _, field_name = label.partition(":")
        model = apps.get_model(model_label)
        returned += model._default_manager.filter(pk__in=ids, **{field_name: survivor.pk}).update(
            **{field_name: duplicate.pk}
        )
    filled = event.data.get("filled", {})
    restore: dict[str, Any] = {}
    for name in ("name", "notes", "language", "time_zone", "preferred_channel"):
        if name in filled and getattr(survivor, name) == filled[name]:
            restore[name] = ""
    if "customer_since" in filled:
        restore["customer_since"] = filled.get("customer_since_was") or None
    if "external_id" in filled:
        restore["external_id"] = None
    if restore:
        Customer.objects.filter(pk=survivor.pk).update(**restore)
    if "external_id" in filled:
        Customer.objects.filter(pk=duplicate.pk).update(external_id=filled["external_id"])
    duplicate.refresh_from_db()
    duplicate.merged_into = None
    duplicate.save(update_fields=["merged_into", "updated_at"])
    for who, other in ((survivor, duplicate), (duplicate, survivor)):
        record_customer_event(
            who,
            "customer.unmerged",
            by=by,
            merge_event_id=event.pk,
            other_id=other.pk,
            rows_returned=returned,
        )
    return duplicate
