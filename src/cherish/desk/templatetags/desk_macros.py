"""The saved-reply (macro) picker under the case page's reply box."""

from __future__ import annotations

from typing import Any

from django import template

from cherish.cases.models import Case
from cherish.desk.queries import macro_choices

register = template.Library()


@register.inclusion_tag("desk/partials/macro_picker.html", takes_context=True)
def macro_picker(context: template.Context, case: Case, shown: bool = False) -> dict[str, Any]:
    """The picker; its saved replies, filled in for the person writing, only when ``shown``
    (1 query then): otherwise the picker loads them when it opens."""
    if not shown:
        return {"case": case, "macros": None}
    request = context.get("request")
    writer = getattr(request, "staff", None) or case.owner
    return {"case": case, "macros": macro_choices(case, writer)}
