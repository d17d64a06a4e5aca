"""Every change of state in learning: themes, findings, policies, improvement actions,
stories. One function per business action, each in one transaction.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string

from cherish.cases.models import Case, CaseEvent, Direction, Kind, Message
from cherish.core.clock import now
from cherish.customers.models import ContactKind, ContactPoint, Customer
from cherish.feedback.models import Compliment
from cherish.learning import events, queries, themes
from cherish.learning.errors import LearningError
from cherish.learning.models import (
    ActionNotice,
    ActionStatus,
    CaseFinding,
    CaseTheme,
    Communication,
    Competitor,
    CompetitorMention,
    Cursor,
    ImprovementAction,
    LeakStep,
    LearningStory,
    Policy,
    PolicyLink,
    PolicyLinkSource,
    RootCause,
    StoryCirculation,
    StoryKind,
    StoryRead,
    Theme,
    ThemeModel,
    ThemeStatus,
    WeeklyReport,
)
from cherish.outbox.actions import queue_email
from cherish.staff.actions import recognise
from cherish.staff.models import RecognitionKind, Role, Staff, Team

# Re-clustering reads at most this many of the newest complaints: themes describe what
# customers say now, and the fit stays within minutes on one core (bench/bench_themes.py).
RECLUSTER_LIMIT = 200_000
# A complaint less similar than this to every theme stays unthemed rather than mislabelled.
MIN_SIMILARITY = 0.05
# A new cluster mostly made of complaints that sit in staff-shaped themes is absorbed by them.
ABSORB_SHARE = 0.5
# A new cluster takes over an automatic theme when it holds this share of its complaints.
TAKEOVER_SHARE = 0.3


# ---------------------------------------------------------------- arrays in the database


def prototypes_to_bytes(prototypes: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, prototypes.astype(np.float32), allow_pickle=False)
    return buffer.getvalue()


def prototypes_from_bytes(blob: bytes | memoryview) -> np.ndarray:
    if not blob:
        return np.zeros((0, 0), dtype=np.float32)
    array: np.ndarray = np.load(io.BytesIO(bytes(blob)), allow_pickle=False)
    return array


_spaces: dict[int, themes.ThemeSpace] = {}


def space_of(model: ThemeModel) -> themes.ThemeSpace:
    """The fitted space of ``model``, loaded once per process (models never change)."""
    space = _spaces.get(model.pk)
    if space is None:
        if len(_spaces) > 4:
            _spaces.clear()
        space = themes.ThemeSpace.from_bytes(bytes(model.space))
        _spaces[model.pk] = space
    return space


def current_model() -> ThemeModel | None:
    return ThemeModel.objects.defer("space").order_by("-created_at", "-pk").first()


# ---------------------------------------------------------------- complaint texts


def case_text(subject: str, body: str) -> str:
    return f"{subject}\n{body}" if subject else body


def complaint_texts(*, limit: int = RECLUSTER_LIMIT) -> tuple[list[int], list[str], list[Any]]:
    """The newest complaints' first customer message: (case ids, texts, case created_at)."""
    case_rows = list(
        Case.objects.filter(kind=Kind.COMPLAINT)
        .order_by("-created_at", "-pk")
        .values_list("pk", "subject", "created_at")[:limit]
    )
    if not case_rows:
        return [], [], []
    first: dict[int, str] = {}
    ids = [row[0] for row in case_rows]
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        messages = (
            Message.objects.filter(case_id__in=chunk, direction=Direction.INBOUND)
            .order_by("case_id", "created_at", "pk")
            .values_list("case_id", "body_text")
        )
        for case_id, body in messages:
            first.setdefault(case_id, body)
    case_ids, texts, created = [], [], []
    for pk, subject, created_at in case_rows:
        if pk in first:
            case_ids.append(pk)
            texts.append(case_text(subject, first[pk]))
            created.append(created_at)
    return case_ids, texts, created


# ---------------------------------------------------------------- re-clustering


@dataclass
class ReclusterResult:
    model: ThemeModel | None
    created: int = 0
    kept: int = 0
    retired: int = 0
    assigned: int = 0


def _case_theme_map(case_ids: list[int]) -> dict[int, int]:
    current: dict[int, int] = {}
    for start in range(0, len(case_ids), 5000):
        chunk = case_ids[start : start + 5000]
        current.update(
            CaseTheme.objects.filter(case_id__in=chunk).values_list("case_id", "theme_id")
        )
    return current


def recluster_themes(*, k: int | None = None, seed: int = 0) -> ReclusterResult:
    """Fit the theme space afresh on the newest complaints and re-assign them all.

    Staff edits survive: a pinned theme (renamed, merged or split by staff) keeps its name,
    identity and shape; its prototypes are re-learnt from the complaints it holds, as many
    as it had (a merged theme keeps one per part). A new cluster made mostly of complaints
    in pinned themes is absorbed by them; otherwise it takes over the automatic theme whose
    complaints it holds most of (keeping its id, trend and links), or becomes a new theme.
    Automatic themes no cluster took over are retired. Refuses nothing: with fewer than two
    complaints there is nothing to cluster and no model is written.
    """
    started = time.monotonic()
    case_ids, texts, created = complaint_texts()
    if len(texts) < 2:
        return ReclusterResult(model=None)
    fitted = themes.fit_space(texts, seed=seed)
    count = k or themes.default_theme_count(len(texts))
    labels, centroids = themes.cluster(fitted.vectors, count, seed=seed)
    current = _case_theme_map(case_ids)
    at = now()
    with transaction.atomic():
        model = ThemeModel.objects.create(
            created_at=at,
            n_texts=len(texts),
            n_clusters=len(centroids),
            space=fitted.space.to_bytes(),
        )
        active = {t.pk: t for t in Theme.objects.filter(status=ThemeStatus.ACTIVE)}
        pinned = {pk for pk, t in active.items() if t.pinned}
        rows_by_theme: dict[int, list[int]] = defaultdict(list)
        for row, case_id in enumerate(case_ids):
            theme_id = current.get(case_id)
            if theme_id is not None:
                rows_by_theme[theme_id].append(row)
        result = ReclusterResult(model=model)
        # The prototypes of the new assignment: (theme, vector) pairs.
        owners: list[Theme] = []
        vectors: list[np.ndarray] = []
        for pk in pinned:
            theme = active[pk]
            rows = rows_by_theme.get(pk, [])
            old = prototypes_from_bytes(theme.prototypes)
            new = themes.prototypes_for(fitted.vectors[rows], max(1, len(old)), seed=seed)
            _refit(theme, model, new, fitted.space, at)
            owners.extend([theme] * len(new))
            vectors.extend(new)
            result.kept += 1
        taken: set[int] = set()
        for label in range(len(centroids)):
            members = np.flatnonzero(labels == label)
            if len(members) == 0:
                continue
            held = Counter(current.get(case_ids[row]) for row in members)
            in_pinned = sum(n for pk, n in held.items() if pk in pinned)
            if in_pinned >= ABSORB_SHARE * len(members):
                continue
            candidates = [
                (n, pk)
                for pk, n in held.items()
                if pk is not None and pk in active and pk not in pinned and pk not in taken
            ]
            prototype = centroids[label : label + 1]
            best = max(candidates, default=None)
            if best is not None and best[0] >= TAKEOVER_SHARE * len(members):
                theme = active[best[1]]
                taken.add(theme.pk)
                result.kept += 1
            else:
                theme = Theme(created_at=at, name="")
                result.created += 1
            _refit(theme, model, prototype, fitted.space, at)
            owners.append(theme)
            vectors.append(prototype[0])
        for pk, theme in active.items():
            if pk not in pinned and pk not in taken:
                theme.status = ThemeStatus.RETIRED
                theme.case_count = 0
                theme.updated_at = at
                theme.save(update_fields=["status", "case_count", "updated_at"])
                result.retired += 1
        if vectors:
            result.assigned = _assign_all(case_ids, created, fitted, owners, np.vstack(vectors), at)
    model.seconds = time.monotonic() - started
    model.save(update_fields=["seconds"])
    return result


def _refit(
    theme: Theme, model: ThemeModel, prototypes: np.ndarray, space: themes.ThemeSpace, at: Any
) -> None:
    theme.model = model
    theme.prototypes = prototypes_to_bytes(prototypes)
    if len(prototypes):
        theme.top_terms = space.top_terms(prototypes)
    if not theme.name_set_by_staff:
        theme.name = themes.name_from_terms(theme.top_terms)[:200]
    theme.updated_at = at
    theme.save()


def _assign_all(
    case_ids: list[int],
    created: list[Any],
    fitted: themes.Fitted,
    owners: list[Theme],
    prototypes: np.ndarray,
    at: Any,
) -> int:
    best, similarity = themes.nearest(prototypes, fitted.vectors)
    term_weights = fitted.space.term_weights(prototypes)
    for start in range(0, len(case_ids), 5000):
        CaseTheme.objects.filter(case_id__in=case_ids[start : start + 5000]).delete()
    rows = []
    counts: Counter[int] = Counter()
    for row, case_id in enumerate(case_ids):
        if similarity[row] < MIN_SIMILARITY:
            continue
        theme = owners[best[row]]
        counts[theme.pk] += 1
        words = themes.driving_words(fitted.tfidf[row], term_weights[best[row]], fitted.space.terms)
        rows.append(
            CaseTheme(
                case_id=case_id,
                theme=theme,
                similarity=float(similarity[row]),
                words=words,
                case_created_at=created[row],
                assigned_at=at,
            )
        )
    CaseTheme.objects.bulk_create(rows, batch_size=2000)
    for theme in {t.pk: t for t in owners}.values():
        Theme.objects.filter(pk=theme.pk).update(case_count=counts.get(theme.pk, 0))
    return len(rows)


# ---------------------------------------------------------------- one new complaint


def _active_prototypes(model: ThemeModel) -> tuple[list[int], np.ndarray]:
    owners: list[int] = []
    blocks: list[np.ndarray] = []
    for pk, blob in Theme.objects.filter(status=ThemeStatus.ACTIVE, model=model).values_list(
        "pk", "prototypes"
    ):
        prototypes = prototypes_from_bytes(blob)
        if prototypes.size:
            owners.extend([pk] * len(prototypes))
            blocks.append(prototypes)
    if not blocks:
        return [], np.zeros((0, 0), dtype=np.float32)
    return owners, np.vstack(blocks)


def assign_theme(case: Case) -> CaseTheme | None:
    """Put a complaint into its nearest theme, remembering the words that drove it.

    Idempotent: a complaint already in a theme keeps it. Does nothing for other kinds, when
    no themes have been fitted yet, or when the complaint resembles no theme. Writes no case
    event (the theme is shown on the case page, not its history).
    """
    if case.kind != Kind.COMPLAINT or CaseTheme.objects.filter(case=case).exists():
        return None
    model = current_model()
    if model is None:
        return None
    owners, prototypes = _active_prototypes(model)
    if not owners:
        return None
    message = (
        Message.objects.filter(case=case, direction=Direction.INBOUND)
        .order_by("created_at", "pk")
        .values_list("body_text", flat=True)
        .first()
    )
    if message is None:
        return None
    space = space_of(model)
    tfidf = space.tfidf([case_text(case.subject, message)])
    vector = space.project(tfidf)
    best, similarity = themes.nearest(prototypes, vector)
    if similarity[0] < MIN_SIMILARITY:
        return None
    index = int(best[0])
    words = themes.driving_words(
        tfidf[0], space.term_weights(prototypes[index : index + 1])[0], space.terms
    )
    with transaction.atomic():
        assignment, created = CaseTheme.objects.get_or_create(
            case=case,
            defaults={
                "theme_id": owners[index],
                "similarity": float(similarity[0]),
                "words": words,
                "case_created_at": case.created_at,
                "assigned_at": now(),
            },
        )
        if created:
            Theme.objects.filter(pk=owners[index]).update(case_count=F("case_count") + 1)
    return assignment


def assign_unthemed(*, limit: int = 500) -> int:
    """Assign recent complaints that have no theme yet (kind changed, a lost task)."""
    if current_model() is None:
        return 0
    cases = Case.objects.filter(kind=Kind.COMPLAINT, theme_assignment__isnull=True).order_by(
        "-created_at"
    )[:limit]
    return sum(1 for case in cases if assign_theme(case) is not None)


# ---------------------------------------------------------------- staff shape themes


def _check_active(theme: Theme) -> None:
    if theme.status != ThemeStatus.ACTIVE:
        raise LearningError(
            f"“{theme.name}” is no longer an active theme.", code="theme_not_active"
        )


@transaction.atomic
def rename_theme(theme: Theme, *, name: str, description: str = "", by: Staff) -> Theme:
    """Give a theme staff's own words. Pins it: re-clustering never renames it again.

    Refuses ('theme_name_required') an empty name, ('theme_not_active') a retired theme.
    """
    del by  # recorded by the audit log of the view; themes carry no history of their own
    _check_active(theme)
    name = name.strip()
    if not name:
        raise LearningError("Give the theme a name.", code="theme_name_required", field="name")
    theme.name = name[:200]
    theme.description = description.strip()
    theme.name_set_by_staff = True
    theme.pinned = True
    theme.updated_at = now()
    theme.save(update_fields=["name", "description", "name_set_by_staff", "pinned", "updated_at"])
    return theme


@transaction.atomic
def merge_themes(theme: Theme, *, into: Theme, by: Staff) -> Theme:
    """Move every complaint of ``theme`` into ``into`` and keep them together from now on.

    ``into`` keeps both prototypes, so new complaints like either part land in it, and is
    pinned. Refuses ('theme_merge_self') merging a theme into itself, ('theme_not_active')
    either theme not being active.
    """
    del by
    if theme.pk == into.pk:
        raise LearningError("A theme cannot be merged into itself.", code="theme_merge_self")
    _check_active(theme)
    _check_active(into)
    moved = CaseTheme.objects.filter(theme=theme).update(theme=into)
    parts = [prototypes_from_bytes(into.prototypes), prototypes_from_bytes(theme.prototypes)]
    parts = [p for p in parts if p.size]
    if parts and theme.model_id == into.model_id:
        into.prototypes = prototypes_to_bytes(np.vstack(parts))
    into.top_terms = (into.top_terms + [t for t in theme.top_terms if t not in into.top_terms])[:10]
    into.case_count = into.case_count + moved
    into.pinned = True
    into.updated_at = now()
    into.save(update_fields=["prototypes", "top_terms", "case_count", "pinned", "updated_at"])
    theme.status = ThemeStatus.MERGED
    theme.merged_into = into
    theme.case_count = 0
    theme.updated_at = into.updated_at
    theme.save(update_fields=["status", "merged_into", "case_count", "updated_at"])
    return into


@transaction.atomic
def split_theme(theme: Theme, *, by: Staff) -> tuple[Theme, Theme]:
    """Split a theme in two by clustering its own complaints; both halves are pinned.

    Refuses ('theme_too_small_to_split') a theme with fewer than four complaints,
    ('theme_not_active') a theme that is not active.
    """
    del by
    _check_active(theme)
    model = current_model()
    assignments = list(
        CaseTheme.objects.filter(theme=theme).values_list("pk", "case_id", "case_created_at")
    )
    if model is None or len(assignments) < 4:
        raise LearningError(
            "A theme needs at least four complaints to be split.",
            code="theme_too_small_to_split",
        )
    space = space_of(model)
    texts = _texts_for([case_id for _, case_id, _ in assignments])
    ordered = [texts.get(case_id, "") for _, case_id, _ in assignments]
    tfidf = space.tfidf(ordered)
    vectors = space.project(tfidf)
    labels, centroids = themes.cluster(vectors, 2, seed=0)
    at = now()
    halves = []
    for label in (0, 1):
        prototypes = centroids[label : label + 1]
        terms = space.top_terms(prototypes)
        half = Theme.objects.create(
            name=themes.name_from_terms(terms)[:200],
            top_terms=terms,
            pinned=True,
            split_from=theme,
            model=model,
            prototypes=prototypes_to_bytes(prototypes),
            created_at=at,
            updated_at=at,
        )
        halves.append(half)
        rows = np.flatnonzero(labels == label)
        ids = [assignments[row][0] for row in rows]
        CaseTheme.objects.filter(pk__in=ids).update(theme=half)
        half.case_count = len(ids)
        half.save(update_fields=["case_count"])
    theme.status = ThemeStatus.SPLIT
    theme.case_count = 0
    theme.updated_at = at
    theme.save(update_fields=["status", "case_count", "updated_at"])
    return halves[0], halves[1]


def _texts_for(case_ids: list[int]) -> dict[int, str]:
    subjects = dict(Case.objects.filter(pk__in=case_ids).values_list("pk", "subject"))
    texts: dict[int, str] = {}
    for case_id, body in (
        Message.objects.filter(case_id__in=case_ids, direction=Direction.INBOUND)
        .order_by("case_id", "created_at", "pk")
        .values_list("case_id", "body_text")
    ):
        if case_id not in texts:
            texts[case_id] = case_text(subjects.get(case_id, ""), body)
    return texts


# ---------------------------------------------------------------- root cause and leak step

# The taxonomy's starting entries, one per category (migration 0002 seeds the same).
DEFAULT_ROOT_CAUSES = [
    ("People: knowledge, skill or behaviour", "people"),
    ("Process: a step that fails or is missing", "process"),
    ("Product: a fault in what we sell", "product"),
    ("Policy: a rule that causes pain", "policy"),
    ("Communication: wrong, missing or unclear", "communication"),
    ("Partner: a supplier or carrier", "partner"),
]


def seed_root_causes() -> None:
    """(Re)create the starting taxonomy; idempotent. For databases flushed after migrating
    (transactional tests) and for the demo."""
    for name, category in DEFAULT_ROOT_CAUSES:
        RootCause.objects.get_or_create(name=name, defaults={"category": category})


@transaction.atomic
def record_finding(
    case: Case,
    *,
    root_cause: RootCause | None,
    leak_step: str,
    communication: str = "",
    communication_note: str = "",
    note: str = "",
    by: Staff,
) -> CaseFinding:
    """Record (or correct) why a complaint happened and where in the business it leaked.

    Refuses ('finding_empty') a finding with neither a root cause nor a leak step,
    ('finding_bad_leak_step' / 'finding_bad_communication') values outside the lists.
    Writes finding.recorded.
    """
    if root_cause is None and not leak_step:
        raise LearningError(
            "Choose a root cause or the step where the problem leaked.", code="finding_empty"
        )
    if leak_step and leak_step not in LeakStep.values:
        raise LearningError("Choose a step from the list.", code="finding_bad_leak_step")
    if communication and communication not in Communication.values:
        raise LearningError(
            "Choose a communication from the list.", code="finding_bad_communication"
        )
    at = now()
    finding, _ = CaseFinding.objects.update_or_create(
        case=case,
        defaults={
            "root_cause": root_cause,
            "leak_step": leak_step,
            "communication": communication,
            "communication_note": communication_note.strip()[:300],
            "note": note.strip(),
            "team_id": case.team_id,
            "case_created_at": case.created_at,
            "recorded_by": by,
            "recorded_at": at,
        },
    )
    events.record_finding_recorded(
        case,
        by=by,
        root_cause=root_cause.name if root_cause else "",
        category=root_cause.category if root_cause else "",
        leak_step=leak_step,
        communication=communication,
    )
    return finding


# ---------------------------------------------------------------- policy register


def _check_policy_fields(title: str) -> str:
    title = title.strip()
    if not title:
        raise LearningError("Give the policy a title.", code="policy_title_required", field="title")
    return title[:200]


@transaction.atomic
def save_policy(
    policy: Policy | None,
    *,
    title: str,
    summary: str = "",
    owner: Staff | None = None,
    review_by: dt.date | None = None,
    phrases: str = "",
    is_active: bool = True,
    by: Staff,
) -> Policy:
    """Add a policy to the register, or change one.

    Refuses ('policy_title_required') an empty title, ('policy_title_taken') a title
    another policy has.
    """
    del by
    title = _check_policy_fields(title)
    clash = Policy.objects.filter(title__iexact=title)
    if policy is not None:
        clash = clash.exclude(pk=policy.pk)
    if clash.exists():
        raise LearningError(
            "Another policy already has this title.", code="policy_title_taken", field="title"
        )
    at = now()
    if policy is None:
        policy = Policy(created_at=at)
    policy.title = title
    policy.summary = summary.strip()
    policy.owner = owner
    policy.review_by = review_by
    policy.phrases = phrases.strip()[:500]
    policy.is_active = is_active
    policy.updated_at = at
    policy.save()
    return policy


@transaction.atomic
def link_policy(case: Case, *, policy: Policy, by: Staff | None, source: str) -> PolicyLink:
    """Tie a complaint to a policy (once; a later link changes nothing). Writes
    policy.linked the first time."""
    link, created = PolicyLink.objects.get_or_create(
        case=case,
        policy=policy,
        defaults={
            "source": source,
            "case_created_at": case.created_at,
            "linked_at": now(),
            "linked_by": by,
        },
    )
    if created:
        events.record_policy_linked(
            case, by=by, policy_id=policy.pk, title=policy.title, source=source
        )
    return link


_POLICY_WORDS = re.compile(r"\b(our|company|the)\s+(policy|policies|procedure|rules?)\b", re.I)


def link_policies_from_replies(*, limit: int = 2000) -> int:
    """Read staff replies written since the last scan; a reply that quotes "our policy"
    and uses a phrase of a policy links its case to that policy. Idempotent."""
    policies = [p for p in Policy.objects.filter(is_active=True) if p.phrase_list]
    cursor, _ = Cursor.objects.get_or_create(name="policy-replies")
    rows = list(
        Message.objects.filter(pk__gt=cursor.last_id, direction=Direction.OUTBOUND)
        .order_by("pk")
        .values_list("pk", "case_id", "body_text")[:limit]
    )
    linked = 0
    for _pk, case_id, body in rows:
        if not policies or not _POLICY_WORDS.search(body):
            continue
        lowered = body.lower()
        for policy in policies:
            if any(phrase in lowered for phrase in policy.phrase_list):
                case = Case.objects.get(pk=case_id)
                if not PolicyLink.objects.filter(case=case, policy=policy).exists():
                    link_policy(case, policy=policy, by=None, source=PolicyLinkSource.REPLY)
                    linked += 1
    if rows:
        Cursor.objects.filter(pk=cursor.pk).update(last_id=rows[-1][0])
    return linked


# ---------------------------------------------------------------- competitor mentions

ASPECTS = {
    "price": ("cheaper", "price", "cost", "expensive", "£", "$", "deal", "fee"),
    "speed": ("faster", "quicker", "sooner", "next day", "same day", "waiting"),
    "service": ("service", "helpful", "support", "friendly", "answer the phone"),
    "quality": ("quality", "better product", "reliable", "broke", "works"),
    "offer": ("offer", "discount", "switch", "moving to", "move to", "leaving for"),
}


def _aspects(snippet: str) -> list[str]:
    lowered = snippet.lower()
    return [name for name, words in ASPECTS.items() if any(w in lowered for w in words)]


def _snippet(text: str, start: int, end: int, width: int = 140) -> str:
    left = max(0, start - width)
    right = min(len(text), end + width)
    return " ".join(text[left:right].split())[:300]


def find_competitor_mentions(case: Case) -> list[CompetitorMention]:
    """Note each competitor the customer's messages name, with what they compare.
    Idempotent (one mention per case and competitor)."""
    competitors = list(Competitor.objects.all())
    if not competitors:
        return []
    text = "\n".join(
        Message.objects.filter(case=case, direction=Direction.INBOUND)
        .order_by("created_at", "pk")
        .values_list("body_text", flat=True)
    )
    found = []
    for competitor in competitors:
        for name in competitor.names:
            match = re.search(rf"\b{re.escape(name)}\b", text, re.IGNORECASE)
            if match is None:
                continue
            snippet = _snippet(text, match.start(), match.end())
            mention, _ = CompetitorMention.objects.get_or_create(
                case=case,
                competitor=competitor,
                defaults={
                    "snippet": snippet,
                    "aspects": _aspects(snippet),
                    "case_created_at": case.created_at,
                },
            )
            found.append(mention)
            break
    return found


# ---------------------------------------------------------------- improvement actions


def _check_action(title: str, theme: Theme | None, policy: Policy | None) -> str:
    title = title.strip()
    if not title:
        raise LearningError("Give the action a title.", code="action_title_required", field="title")
    if theme is None and policy is None:
        raise LearningError(
            "Link the action to a theme or a policy, so its effect can be measured.",
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
        raise LearningError("Choose a status from the list.", code="action_bad_status")
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
        raise LearningError("Only a done action can be shown to customers.", code="action_not_done")
    if not action.you_said.strip() or not action.we_did.strip():
        raise LearningError(
            "Write what customers said and what we did before publishing.",
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
    for customer_id, address, reference in customers_behind(action):
        if customer_id in already or customer_id in opted_out:
            continue
        email = queue_email(
            to=address,
            subject="You told us, and we changed something",
            text=render_to_string(
                "learning/email/action_notice.txt",
                {"action": action, "reference": reference, "org_name": settings.CHERISH_ORG_NAME},
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


# ---------------------------------------------------------------- learning stories


def case_is_resolved(case: Case) -> bool:
    """Closed, or with a resolution recorded: the story can be told."""
    if not case.is_open:
        return True
    return case.events.filter(type="resolution.recorded").exists()


@transaction.atomic
def write_story(
    story: LearningStory | None,
    *,
    case: Case | None,
    kind: str,
    title: str,
    what_happened: str,
    what_we_learned: str,
    what_we_changed: str = "",
    for_onboarding: bool = False,
    by: Staff,
) -> LearningStory:
    """Write (or correct) a learning story, of excellent care or of a failure.

    Refuses ('story_case_unresolved') a story from a case that is neither closed nor has a
    resolution, ('story_incomplete') a story without a title, what happened or what we
    learned, ('story_bad_kind') an unknown kind. Writes story.written on the case the first
    time.
    """
    if kind not in StoryKind.values:
        raise LearningError("Choose what kind of story this is.", code="story_bad_kind")
    if not (title.strip() and what_happened.strip() and what_we_learned.strip()):
        raise LearningError(
            "A story needs a title, what happened and what we learned.", code="story_incomplete"
        )
    if case is not None and not case_is_resolved(case):
        raise LearningError(
            "Tell the story once the case is resolved.", code="story_case_unresolved"
        )
    at = now()
    is_new = story is None
    if story is None:
        story = LearningStory(created_at=at, author=by, case=case)
    story.kind = kind
    story.title = title.strip()[:200]
    story.what_happened = what_happened.strip()
    story.what_we_learned = what_we_learned.strip()
    story.what_we_changed = what_we_changed.strip()
    story.for_onboarding = for_onboarding
    story.updated_at = at
    story.save()
    if is_new and case is not None:
        events.record_story_written(case, by=by, story_id=story.pk, title=story.title)
    return story


@transaction.atomic
def circulate_story(story: LearningStory, *, teams: list[Team], by: Staff) -> int:
    """Send a story to teams: their members see it in their stories to read. Returns how
    many teams were new; circulating to a team twice changes nothing."""
    added = 0
    at = now()
    for team in teams:
        _, created = StoryCirculation.objects.get_or_create(
            story=story, team=team, defaults={"circulated_at": at, "circulated_by": by}
        )
        added += int(created)
    return added


def mark_story_read(story: LearningStory, *, by: Staff) -> StoryRead:
    """Keep a read receipt the first time a staff member opens a story."""
    receipt, _ = StoryRead.objects.get_or_create(story=story, staff=by, defaults={"read_at": now()})
    return receipt


# ---------------------------------------------------------------- weekly report


def report_recipients() -> list[str]:
    """Managers (by role, or as a team's manager) with an email address."""
    staff = Staff.objects.filter(user__is_active=True).exclude(user__email="")
    managers = staff.filter(role=Role.MANAGER) | staff.filter(
        pk__in=Team.objects.exclude(manager=None).values("manager_id")
    )
    return sorted({s.user.email for s in managers.select_related("user")})


def send_weekly_report(*, at: dt.datetime | None = None) -> WeeklyReport | None:
    """Email the week's "what our customers told us" report to managers, once per week
    (weeks start on Monday, UTC). Returns None when this week's was already sent, or when
    there is nothing to report yet (no empty reports: the next tick tries again)."""
    at = at or now()
    week_start = (at - dt.timedelta(days=at.weekday())).date()
    if WeeklyReport.objects.filter(week_start=week_start).exists():
        return None
    report = queries.weekly_report(at=at)
    if not (report.rising or report.due or report.worked):
        return None
    recipients = report_recipients()
    text = render_to_string(
        "learning/email/weekly_report.txt",
        {"report": report, "org_name": settings.CHERISH_ORG_NAME, "site_url": settings.SITE_URL},
    )
    with transaction.atomic():
        row, created = WeeklyReport.objects.get_or_create(
            week_start=week_start, defaults={"sent_at": at, "recipients": len(recipients)}
        )
        if not created:
            return None
        for address in recipients:
            queue_email(
                to=address,
                subject=f"What our customers told us, week of {week_start:%-d %B}",
                text=text,
                is_automatic=True,
            )
    return row


# ---------------------------------------------------------------- recognition from outcomes

# Case events that credit a staff member: (event type, how the staff member is found, kind).
RECOGNISED_EVENTS = {
    "compliment.credited": RecognitionKind.COMPLIMENT,
    "commitment.kept": RecognitionKind.COMMITMENT_KEPT,
    "follow_up.recorded": RecognitionKind.RECOVERY,
}


def collect_recognition(*, limit: int = 5000) -> int:
    """Credit staff for customer outcomes recorded since the last run: compliments naming
    them, promises kept, complaints followed up to a satisfied customer, and praise in
    survey answers (feedback's compliments). Idempotent: each outcome counts once."""
    cursor, _ = Cursor.objects.get_or_create(name="recognition-events")
    rows = list(
        CaseEvent.objects.filter(pk__gt=cursor.last_id, type__in=list(RECOGNISED_EVENTS))
        .select_related("case")
        .order_by("pk")[:limit]
    )
    staff_ids = {r.data.get("staff_id") or r.actor_id for r in rows}
    staff = Staff.objects.in_bulk([s for s in staff_ids if s])
    added = 0
    for event in rows:
        kind = RECOGNISED_EVENTS[event.type]
        if event.type == "follow_up.recorded" and event.data.get("outcome") != "satisfied":
            continue
        person = staff.get(event.data.get("staff_id") or event.actor_id)
        if person is None:
            continue
        message = event.data.get("note", "") if kind != RecognitionKind.COMPLIMENT else ""
        if recognise(
            person,
            kind=kind,
            message=message,
            case_reference=event.case.reference,
            source_key=f"event:{event.pk}",
            at=event.created_at,
        ):
            added += 1
    if rows:
        Cursor.objects.filter(pk=cursor.pk).update(last_id=rows[-1].pk)
    survey_cursor, _ = Cursor.objects.get_or_create(name="recognition-survey")
    compliments = list(
        Compliment.objects.filter(pk__gt=survey_cursor.last_id)
        .select_related("staff")
        .order_by("pk")[:limit]
    )
    for compliment in compliments:
        if recognise(
            compliment.staff,
            kind=RecognitionKind.SATISFACTION,
            message=compliment.text,
            source_key=f"survey:{compliment.pk}",
            at=compliment.created_at,
        ):
            added += 1
    if compliments:
        Cursor.objects.filter(pk=survey_cursor.pk).update(last_id=compliments[-1].pk)
    return added
