"""The words staff read for a case's badges (stored as plain words: flags, care's marks, tags)."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _

from cherish.triage.case_signals import FLAG_LABELS

register = template.Library()

# Care's own marks; any other badge is a tag someone wrote, shown as written.
_MARKS = {"overdue": _("Overdue"), "escalated": _("Escalated")}


@register.filter
def badge_label(badge: str) -> str:
    return str(FLAG_LABELS.get(badge) or _MARKS.get(badge) or badge)
