"""The case page's addresses, worked out once per process instead of ~25 reversals a page.

The URLconf does not change while a process runs, so each case route is reversed once per
script prefix with a stand-in reference, and a page's addresses are that text with its
reference put in. A reference that would need quoting in a URL (ours never do) is reversed
the ordinary way.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

from django.urls import get_script_prefix, reverse

# The routes a case page links to or posts to, by the key its templates use.
_CASE_ROUTES = {
    "detail": "cases:detail",
    "reply": "cases:reply",
    "note": "cases:note",
    "update": "cases:update",
    "reassign": "cases:reassign",
    "timeline": "cases:timeline",
    "handover": "cases:handover",
    "macros": "cases:macros",
    "macro_reply": "desk:macro-reply",
    "presence": "desk:presence",
    "care": "care:case",
    "correct": "triage:correct",
    "add_flag": "triage:add-flag",
    "clear_flag": "triage:clear-flag",
}
_FIXED_ROUTES = {"tone_check": "care:tone-check"}
_STAND_IN = "CHERISHREFERENCE"
_PLAIN = re.compile(r"[A-Za-z0-9_.-]+")
_TEMPLATES: dict[str, tuple[dict[str, str], dict[str, str]]] = {}


def _templates() -> tuple[dict[str, str], dict[str, str]]:
    prefix = get_script_prefix()
    found = _TEMPLATES.get(prefix)
    if found is None:
        found = (
            {key: reverse(name, args=[_STAND_IN]) for key, name in _CASE_ROUTES.items()},
            {key: reverse(name) for key, name in _FIXED_ROUTES.items()},
        )
        _TEMPLATES[prefix] = found
    return found


def case_urls(reference: str) -> SimpleNamespace:
    """Every address the case page uses for the case ``reference`` (the same strings
    ``reverse`` gives), plus the fixed ones it needs (``tone_check``), as attributes:
    ``urls.update`` in a template (a dict's ``update`` would be its method)."""
    per_case, fixed = _templates()
    if _PLAIN.fullmatch(reference) and _STAND_IN not in reference:
        urls = {key: url.replace(_STAND_IN, reference) for key, url in per_case.items()}
    else:
        urls = {key: reverse(name, args=[reference]) for key, name in _CASE_ROUTES.items()}
    return SimpleNamespace(**urls, **fixed)
