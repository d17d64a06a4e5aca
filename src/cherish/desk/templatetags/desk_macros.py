"""The saved-reply (macro) picker under the case page's reply box."""

from __future__ import annotations

from typing import Any

from django import template

from cherish.care.queries import rendered_snippets
from cherish.cases.models import Case, Stage

register = template.Library()

_STAGE_LABELS = dict(Stage.choices)


@register.inclusion_tag("desk/partials/macro_picker.html", takes_context=True)
def macro_picker(context: template.Context, case: Case) -> dict[str, Any]:
    """Every saved reply for the case's kind, filled in for the person writing (1 query)."""
    request = context.get("request")
    writer = getattr(request, "staff", None) or case.owner
    macros = []
    for snippet, body in rendered_snippets(case, writer):
        actions = []
        if snippet.stage:
            actions.append(str(_STAGE_LABELS.get(snippet.stage, snippet.stage)))
        if snippet.commitment_what:
            actions.append(snippet.commitment_what)
        if snippet.tag:
            actions.append(f"#{snippet.tag}")
        macros.append(
            {
                "snippet": snippet,
                "body": body,
                "actions": actions,
                "search": f"{snippet.title} {body}".lower(),
            }
        )
    return {"case": case, "macros": macros}
