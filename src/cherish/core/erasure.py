"""What every app's ``forget_customer`` shares: the erasure in progress and safe scrubbing.

An erasure anonymises one person across every app (cherish/privacy.py calls each app's
``privacy.forget_customer`` in a fixed order, inside one transaction). Each app scrubs its own
tables; this module gives them the same tools: the ids and identifiers gathered before any
row changed, a JSON scrubber that keeps only known-harmless values, and file deletion that
happens only when the transaction commits (a rollback must not leave rows pointing at
deleted files).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import models, transaction

logger = logging.getLogger(__name__)

ERASED = "[erased]"

# JSON keys whose values never carry personal data (codes, ids, numbers, labels of our own),
# kept so that statistics and timelines stay readable after an erasure.
SAFE_KEYS = frozenset(
    {
        "channel",
        "kind",
        "direction",
        "old",
        "new",
        "rule",
        "owner_id",
        "owner_name",
        "old_owner_id",
        "old_owner_name",
        "message_id",
        "answer",
        "outcome",
        "severity",
        "on_time",
        "commitment_id",
        "follow_up_id",
        "rule_id",
        "gesture_id",
        "gesture_type",
        "value",
        "currency",
        "status",
        "link",
        "fields",
        "source",
        "reason_code",
        "duplicate_id",
        "survivor_id",
        "merge_event_id",
        "other_id",
        "year",
        "moment",
        "date_id",
        "lead_id",
        "staff_id",
        "staff_name",
        "into_id",
        "emotion",
        "urgency",
        "topic",
        "flags",
        "intensity",
        "model_version",
        "is_plus_one",
        "complexity",
        "impact",
        "case",
        "reference",
        "stage",
        "phase",
        "language",
        "type",
        "code",
    }
)


@dataclass
class Erasure:
    """One erasure in progress: gathered once, before any app changes a row."""

    customer_id: int
    case_ids: list[int]
    message_ids: list[int]
    case_references: list[str]
    # Name, email addresses and phone numbers: scrubbed wherever free text may repeat them.
    identifiers: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    _files: list[tuple[Any, str]] = field(default_factory=list)

    def count(self, what: str, n: int) -> None:
        self.counts[what] = self.counts.get(what, 0) + int(n)

    def delete_file_on_commit(self, storage: Any, name: str) -> None:
        """Delete a stored file once the erasure has committed (never before)."""
        if name:
            self._files.append((storage, name))

    def delete_path_on_commit(self, path: Path) -> None:
        self._files.append((None, str(path)))

    def schedule_file_deletion(self) -> None:
        files = list(self._files)
        self._files.clear()
        self.count("files", len(files))
        transaction.on_commit(lambda: _delete_files(files))

    def mentions(self, text: str) -> bool:
        """Whether ``text`` names this customer or one of their cases (case-insensitive)."""
        lowered = text.lower()
        return any(needle.lower() in lowered for needle in self.needles())

    def needles(self) -> list[str]:
        return [n for n in [*self.identifiers, *self.case_references] if len(n) >= 3]

    def mentioned_in(self, field_name: str) -> models.Q:
        """Rows whose ``field_name`` (text or JSON) contains an identifier or case reference."""
        query = models.Q(pk__in=[])
        for needle in self.needles():
            query |= models.Q(**{f"{field_name}__icontains": needle})
        return query

    def redact(self, text: str) -> str:
        """``text`` with every identifier replaced (for text that is not the customer's own,
        such as a staff notification naming them)."""
        for needle in sorted(self.identifiers, key=len, reverse=True):
            if len(needle) >= 3:
                text = re.sub(re.escape(needle), ERASED, text, flags=re.IGNORECASE)
        return text


def _delete_files(files: list[tuple[Any, str]]) -> None:
    for storage, name in files:
        try:
            if storage is None:
                Path(name).unlink(missing_ok=True)
            else:
                storage.delete(name)
        except OSError:
            # The rows are already anonymised; a file left behind is logged for the operator.
            logger.warning("erasure: could not delete %s", name, exc_info=True)


def scrub(data: Any, key: str = "", *, safe_keys: Iterable[str] = SAFE_KEYS) -> Any:
    """JSON with every string replaced by ERASED, except under keys known to be harmless."""
    safe = safe_keys if isinstance(safe_keys, frozenset) else frozenset(safe_keys)
    if isinstance(data, dict):
        return {k: scrub(v, k, safe_keys=safe) for k, v in data.items()}
    if isinstance(data, list):
        return [scrub(v, key, safe_keys=safe) for v in data]
    if isinstance(data, str) and data and key not in safe:
        return ERASED
    return data


def free_text_fields(model: type[models.Model]) -> list[str]:
    """Free-text fields of a model: where a person's words or details can end up."""
    names = []
    for f in model._meta.concrete_fields:
        if isinstance(f, models.TextField) or (
            isinstance(f, models.CharField) and (f.max_length or 0) >= 200 and not f.choices
        ):
            names.append(f.name)
    return names


def erase_free_text(
    queryset: models.QuerySet[Any], *, skip: Iterable[str] = (), blank: Iterable[str] = ()
) -> int:
    """Replace every non-empty free-text field of these rows with ERASED (``blank``: with "")."""
    skipped, blanked = set(skip), set(blank)
    count = 0
    for name in free_text_fields(queryset.model):
        if name in skipped:
            continue
        value = "" if name in blanked else ERASED
        count += queryset.exclude(**{name: ""}).exclude(**{name: value}).update(**{name: value})
    return count


def scrub_json_field(
    queryset: models.QuerySet[Any], field_name: str, *, safe_keys: Iterable[str] = SAFE_KEYS
) -> int:
    """Scrub one JSON column of these rows (see ``scrub``)."""
    rows = list(queryset.exclude(**{f"{field_name}__isnull": True}).only("pk", field_name))
    for row in rows:
        setattr(row, field_name, scrub(getattr(row, field_name), safe_keys=safe_keys))
    if rows:
        queryset.model._default_manager.bulk_update(rows, [field_name], batch_size=500)
    return len(rows)
