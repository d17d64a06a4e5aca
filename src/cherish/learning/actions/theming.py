"""Themes: the fitted space kept in the database, re-clustering that keeps staff edits, a
new complaint assigned to its nearest theme, and staff renaming, merging and splitting themes.
"""

from __future__ import annotations

import io
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext

from cherish.cases.models import Case, Direction, Kind, Message
from cherish.core.clock import now
from cherish.learning.errors import LearningError
from cherish.learning.models import (
    CaseTheme,
    Theme,
    ThemeModel,
    ThemeStatus,
)
from cherish.staff.models import Staff

if TYPE_CHECKING:
    import numpy as np

    from cherish.learning import themes
else:
    from cherish.core.lazy import LazyModule

    # Imported when a theme job or page first needs them: not in every web worker.
    np = LazyModule("numpy")
    themes = LazyModule("cherish.learning.themes")

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
            gettext("“%(theme)s” is no longer an active theme.") % {"theme": theme.name},
            code="theme_not_active",
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
        raise LearningError(
            gettext("Give the theme a name."), code="theme_name_required", field="name"
        )
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
        raise LearningError(
            gettext("A theme cannot be merged into itself."), code="theme_merge_self"
        )
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
            gettext("A theme needs at least four complaints to be split."),
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
