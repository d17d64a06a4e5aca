"""Shapes of the triage panel's forms. The rules (allowed values, reasons) live in actions."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cherish.triage.case_signals import CASE_FLAGS, FLAG_LABELS

FLAG_CHOICES = [(flag, FLAG_LABELS[flag]) for flag in CASE_FLAGS]


class FlagForm(forms.Form):
    flag = forms.ChoiceField(
        choices=FLAG_CHOICES,
        error_messages={
            "required": _("Choose a flag."),
            "invalid_choice": _("Choose a flag from the list."),
        },
    )
    # Required-ness and length are the action's rules; the form only carries the text.
    reason = forms.CharField(required=False, strip=True, label=_("Why"))


class CorrectionForm(forms.Form):
    """One select per field of the reading; only the fields whose value changed are applied.

    Values are not checked here: the action owns the allowed values and its refusal is shown
    on the field, so a crafted or stale value is reported instead of silently ignored.
    """

    kind = forms.CharField(required=False)
    emotion = forms.CharField(required=False)
    urgency = forms.CharField(required=False)
    topic = forms.CharField(required=False)
    phase = forms.CharField(required=False)
    language = forms.CharField(required=False)

    # The pair form older pages (and scripts) post: field=<name>, value=<new value>.
    field = forms.CharField(required=False)
    value = forms.CharField(required=False)

    def changes(self, current: dict[str, str]) -> dict[str, str]:
        """Field -> new value, for the fields posted with a value other than ``current``."""
        data = self.cleaned_data
        if data.get("field"):
            return {data["field"]: data.get("value", "")}
        return {
            name: data[name]
            for name in ("kind", "emotion", "urgency", "topic", "phase", "language")
            if data.get(name) and data[name] != current.get(name, "")
        }
