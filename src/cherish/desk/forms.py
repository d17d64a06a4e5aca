"""Shapes of the desk's case forms. The rules (empty reply, handoff note) live in actions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cherish.cases.models import Kind, Severity
from cherish.core.errors import CherishError
from cherish.staff.models import Staff


class MessageForm(forms.Form):
    text = forms.CharField(strip=True, required=False)

    def clean_text(self) -> str:
        text: str = self.cleaned_data["text"]
        limit = settings.CHERISH_MAX_TEXT_CHARS
        if len(text) > limit:
            raise forms.ValidationError(
                gettext("Keep it to %(limit)s characters or fewer (this is %(length)s).")
                % {
                    "limit": number_format(limit, force_grouping=True),
                    "length": number_format(len(text), force_grouping=True),
                }
            )
        return text


class ReplyForm(MessageForm):
    pass


class NoteForm(MessageForm):
    pass


class ChangeCaseForm(forms.Form):
    # No stage here: stage moves go through the care workflow's panel, which refuses e.g.
    # closing a complaint without a resolution and a follow-up.
    kind = forms.ChoiceField(choices=Kind.choices)
    severity = forms.ChoiceField(choices=Severity.choices)


class ReassignForm(forms.Form):
    to = forms.ModelChoiceField(
        queryset=Staff.objects.none(),
        label=_("New owner"),
        error_messages={"required": _("Choose who takes the case over.")},
    )
    note = forms.CharField(required=False, strip=True, max_length=5000, label=_("Handoff note"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["to"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Staff.objects.filter(user__is_active=True)


def add_cherish_error(form: forms.Form, error: CherishError) -> None:
    """Show an action's refusal on the form: on its field when the form has one."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)
