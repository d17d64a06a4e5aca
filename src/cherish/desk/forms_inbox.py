"""Shapes of the inbox's forms: bulk changes and saved views. The rules live in actions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from cherish.cases.models import Kind
from cherish.staff.models import Staff

# At most this many cases in one bulk change: a page and then some, never a whole table.
BULK_LIMIT = 200


class BulkAction:
    ASSIGN = "assign"
    KIND = "kind"
    NOTE = "note"
    CLOSE = "close"
    TAKE = "take"

    choices = (
        (ASSIGN, gettext_lazy("Assign to…")),
        (KIND, gettext_lazy("Change kind to…")),
        (NOTE, gettext_lazy("Add an internal note")),
        (CLOSE, gettext_lazy("Close")),
        (TAKE, gettext_lazy("Take it (assign to me)")),
    )


class BulkForm(forms.Form):
    cases = forms.MultipleChoiceField(
        choices=(),
        error_messages={"required": gettext_lazy("Select at least one case.")},
    )
    action = forms.ChoiceField(
        choices=BulkAction.choices,
        error_messages={"required": gettext_lazy("Choose what to do with the selected cases.")},
    )
    to = forms.ModelChoiceField(queryset=Staff.objects.none(), required=False)
    kind = forms.ChoiceField(choices=[("", "—"), *Kind.choices], required=False)
    text = forms.CharField(required=False, strip=True, max_length=5000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["to"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Staff.objects.filter(user__is_active=True)
        # Any reference-shaped value: whether the agent may see or change it is decided per
        # case by the access rules, and reported per row.
        references = self.data.getlist("cases") if hasattr(self.data, "getlist") else []
        cases_field = self.fields["cases"]
        assert isinstance(cases_field, forms.MultipleChoiceField)
        cases_field.choices = [(ref, ref) for ref in references[:BULK_LIMIT] if len(ref) <= 12]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action = data.get("action")
        if action == BulkAction.ASSIGN and not data.get("to"):
            self.add_error("to", gettext_lazy("Choose who takes the cases over."))
        if action == BulkAction.KIND and not data.get("kind"):
            self.add_error("kind", gettext_lazy("Choose the new kind."))
        if action == BulkAction.NOTE and not data.get("text"):
            self.add_error("text", gettext_lazy("Write the note first."))
        return data


class SavedViewForm(forms.Form):
    name = forms.CharField(
        max_length=60,
        strip=True,
        error_messages={"required": gettext_lazy("Give the view a name.")},
    )
