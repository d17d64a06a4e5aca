"""The desk's forms on the customer 360 and identity pages (staff only; the customer's
answer form is in forms.py, whose texts every customer language must have)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cherish.customers.models import DateKind, LeaveReasonKind, RelationshipStatus


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=RelationshipStatus.choices, label=_("Status"))
    reason = forms.ChoiceField(
        choices=[("", "—"), *LeaveReasonKind.choices], required=False, label=_("Why they left")
    )
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label=_("Note")
    )


class ImportantDateForm(forms.Form):
    kind = forms.ChoiceField(choices=DateKind.choices, label=_("Kind of date"))
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label=_("Date"))
    note = forms.CharField(required=False, max_length=200, label=_("Note"))
    recurring = forms.BooleanField(required=False, initial=True, label=_("Every year"))


class MomentNoteForm(forms.Form):
    moment_key = forms.CharField(max_length=40, widget=forms.HiddenInput)
    year = forms.IntegerField(min_value=2000, max_value=2200, widget=forms.HiddenInput)
    subject = forms.CharField(max_length=200)
    text = forms.CharField(
        max_length=5000, widget=forms.Textarea(attrs={"rows": 4}), label=_("Note")
    )


class EraseForm(forms.Form):
    confirm = forms.CharField(max_length=20, label=_("Type ERASE to confirm"))

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"].strip()
        if value != "ERASE":
            raise forms.ValidationError(_("Type ERASE in capitals to confirm."))
        return value


class MergeForm(forms.Form):
    survivor = forms.IntegerField(min_value=1)
    duplicate = forms.IntegerField(min_value=1)
