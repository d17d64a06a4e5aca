"""Improvement actions (CAPA): saving them, linking cases, publishing them on "You said, we
did" and telling the customers whose complaints led to them.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.template.loader import render_to_string
from django.utils.translation import gettext

from cherish.cases.models import Case
from cherish.core import i18n
from cherish.core.clock import now
from cherish.customers.models import ContactKind, ContactPoint, Customer
from cherish.learning.errors import LearningError
from cherish.learning.models import (
    ActionNotice,
    ActionStatus,
    CaseTheme,
    CustomerCount,
    ImprovementAction,
    Policy,
    Theme,
)
from cherish.outbox.actions import queue_email
from cherish.staff.models import Staff

# ---------------------------------------------------------------- improvement actions


def _check_action(title: str, theme: Theme | None, policy: Policy | None) -> str:
    title = title.strip()
    if not title:
        raise LearningError(
            gettext("Give the action a title."), code="action_title_required", field="title"
        )
    if theme is None and policy is None:
        raise LearningError(
            gettext("Link the action to a theme or a policy, so its effect can be measured."),
            code="action_needs_subject",
        )
    return title[:200]


@transaction.atomic
def save_improvement_action(
    action: ImprovementAction | None,
    *,
    title: str,
    description: str = "",
    theme: Theme | None = None,
    policy: Policy | None = None,
    owner: Staff | None = None,
    due_date: dt.date | None = None,
    status: str = ActionStatus.PLANNED,
    you_said: str = "",
    we_did: str = "",
    by: Staff,
) -> ImprovementAction:
    """Plan an improvement action (CAPA), or change one.

    Marking it done stamps ``completed_at`` (the effectiveness check measures from then);
    moving it back from done clears it. Refuses ('action_title_required') an empty title,
    ('action_needs_subject') an action tied to neither a theme nor a policy,
    ('action_bad_status') an unknown status.
    """
    title = _check_action(title, theme, policy)
    if status not in ActionStatus.values:
        raise LearningError(gettext("Choose a status from the list."), code="action_bad_status")
    at = now()
    if action is None:
        action = ImprovementAction(created_at=at, created_by=by)
    if status == ActionStatus.DONE and action.completed_at is None:
        action.completed_at = at
    elif status != ActionStatus.DONE:
        action.completed_at = None
    action.title = title
    action.description = description.strip()
    action.theme = theme
    action.policy = policy
    action.owner = owner
    action.due_date = due_date
    action.status = status
    action.you_said = you_said.strip()
    action.we_did = we_did.strip()
    action.updated_at = at
    action.save()
    return action


@transaction.atomic
def link_action_case(action: ImprovementAction, *, case: Case, by: Staff) -> None:
    """Record that this complaint led to the action (its customer is told once published)."""
    del by
    action.cases.add(case)


NOTICE_LOOKBACK = dt.timedelta(days=90)


def customers_behind(action: ImprovementAction) -> list[tuple[int, str, str]]:
    """(customer id, email address, case reference) of each customer whose complaint led to
    the action: its linked cases, and its theme's complaints in the 90 days before it was
    done. One row per customer, the newest complaint's address."""
    case_ids = set(action.cases.values_list("pk", flat=True))
    if action.theme_id is not None:
        end = action.completed_at or now()
        case_ids.update(
            CaseTheme.objects.filter(
                theme_id=action.theme_id,
                case_created_at__gte=end - NOTICE_LOOKBACK,
                case_created_at__lte=end,
            ).values_list("case_id", flat=True)
        )
    rows = (
        Case.objects.filter(pk__in=case_ids, customer__erased_at__isnull=True)
        .order_by("customer_id", "-created_at")
        .values_list("customer_id", "reply_to", "reference")
    )
    seen: dict[int, tuple[int, str, str]] = {}
    for customer_id, address, reference in rows:
        seen.setdefault(customer_id, (customer_id, address, reference))
    # A case from the web form or the phone has no reply-to: use the customer's email.
    emails: dict[int, str] = {}
    for customer_id, value in (
        ContactPoint.objects.filter(
            customer_id__in=[c for c, a, _ in seen.values() if not a], kind=ContactKind.EMAIL
        )
        .order_by("pk")
        .values_list("customer_id", "value")
    ):
        emails.setdefault(customer_id, value)
    return [
        (customer_id, address or emails.get(customer_id, ""), reference)
        for customer_id, address, reference in seen.values()
        if address or customer_id in emails
    ]


@transaction.atomic
def publish_action(action: ImprovementAction, *, by: Staff) -> int:
    """Show a done action on the public "You said, we did" page and tell each customer
    whose complaint led to it, once, through the outbox. Returns how many were told.

    Refuses ('action_not_done') an action not done, ('action_public_words_missing') one
    without both public texts. Customers who opted out are not emailed.
    """
    if action.status != ActionStatus.DONE:
        raise LearningError(
            gettext("Only a done action can be shown to customers."), code="action_not_done"
        )
    if not action.you_said.strip() or not action.we_did.strip():
        raise LearningError(
            gettext("Write what customers said and what we did before publishing."),
            code="action_public_words_missing",
        )
    at = now()
    if action.published_at is None:
        action.published_at = at
        action.published_by = by
        action.updated_at = at
        action.save(update_fields=["published_at", "published_by", "updated_at"])
    already = set(action.notices.values_list("customer_id", flat=True))
    opted_out = set(Customer.objects.filter(opted_out=True).values_list("pk", flat=True))
    told = 0
    behind = customers_behind(action)
    languages = dict(
        Customer.objects.filter(pk__in=[row[0] for row in behind]).values_list("pk", "language")
    )
    for customer_id, address, reference in behind:
        if customer_id in already or customer_id in opted_out:
            continue
        with i18n.language_of(languages.get(customer_id)):  # each in their own language
            email = queue_email(
                to=address,
                subject=gettext("You told us, and we changed something"),
                text=render_to_string(
                    "learning/email/action_notice.txt",
                    {
                        "action": action,
                        "reference": reference,
                        "org_name": settings.CHERISH_ORG_NAME,
                    },
                ),
                is_automatic=True,
            )
        ActionNotice.objects.create(
            action=action, customer_id=customer_id, email_id=email.pk, sent_at=at
        )
        told += 1
    return told


@transaction.atomic
def unpublish_action(action: ImprovementAction, *, by: Staff) -> ImprovementAction:
    """Take an action off the public page (emails already sent stay sent)."""
    del by
    action.published_at = None
    action.published_by = None
    action.updated_at = now()
    action.save(update_fields=["published_at", "published_by", "updated_at"])
    return action


# ---------------------------------------------------------------- customer counts


def refresh_customer_counts(*, at: dt.datetime | None = None) -> int:
    """Rebuild the daily customer counts (``CustomerCount``) up to the end of yesterday (UTC),
    when the newest row is older than that. One grouped pass over the customers; returns the
    number of days written (0 when already up to date)."""
    at = at or now()
    yesterday = at.astimezone(dt.UTC).date() - dt.timedelta(days=1)
    newest = CustomerCount.objects.order_by("-day").values_list("day", flat=True).first()
    if newest is not None and newest >= yesterday:
        return 0
    today_starts = dt.datetime.combine(yesterday + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    per_day = dict(
        Customer.objects.filter(merged_into__isnull=True, created_at__lt=today_starts)
        .annotate(day=TruncDate("created_at", tzinfo=dt.UTC))
        .values_list("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
        .order_by()
    )
    rows = []
    if per_day:
        day, total = min(per_day), 0
        while day <= yesterday:
            total += per_day.get(day, 0)
            rows.append(CustomerCount(day=day, customers=total))
            day += dt.timedelta(days=1)
    with transaction.atomic():
        CustomerCount.objects.all().delete()
        CustomerCount.objects.bulk_create(rows, batch_size=1000)
    return len(rows)
