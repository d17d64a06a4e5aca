"""Send a saved reply (a macro) and apply its actions in one step, from the case page's
reply box. Thin: parse, call ``care.actions.apply_macro``, answer like the reply button."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cherish.care import actions as care_actions
from cherish.care.queries import macro_for
from cherish.cases.access import access_case_to_work
from cherish.core.errors import CherishError, Forbidden
from cherish.desk.forms import ReplyForm, add_cherish_error
from cherish.desk.guard import DeskRequest, desk_view
from cherish.desk.views import _after_action


class MacroReplyForm(ReplyForm):
    macro = forms.IntegerField(
        error_messages={
            "required": gettext_lazy("Choose a saved reply first."),
            "invalid": gettext_lazy("Choose a saved reply first."),
        }
    )


@require_POST
@desk_view
def macro_reply(request: DeskRequest, reference: str) -> HttpResponse:
    staff = request.staff
    case = access_case_to_work(staff, reference)
    form = MacroReplyForm(request.POST)
    ok = False
    if form.is_valid():
        data: dict[str, Any] = form.cleaned_data
        macro = macro_for(case, data["macro"])
        if macro is None:
            form.add_error("macro", _("That saved reply is not available for this case."))
        else:
            try:
                care_actions.apply_macro(case, macro, text=data["text"], by=staff)
                ok = True
            except Forbidden:
                raise
            except CherishError as error:
                add_cherish_error(form, error)
    if ok:
        messages.success(request, _("Reply sent; the saved reply's actions are applied."))
        target = reverse("cases:detail", args=[case.reference])
        if getattr(request, "htmx", None):
            # The stage, promises and tags changed beside the conversation: a whole new page
            # (no #fragment: on the same path the browser would only scroll, not load).
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return redirect(target + "#conversation")
    # The list stays open under the box, so another saved reply can be chosen.
    return _after_action(
        request, case, staff, partial="work", ok=False, anchor="", reply_form=form, show_macros=True
    )
