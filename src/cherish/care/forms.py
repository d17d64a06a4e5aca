"""Input shapes for the care panel's forms (the rules live in actions)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from cherish.care.models import (
    CommitmentHow,
    Complexity,
    EscalationBody,
    FollowUpOutcome,
    GestureType,
    Impact,
    LinkType,
)
from cherish.cases.models import Severity, Stage
from cherish.staff.models import Staff


def _staff_choices() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=Staff.objects.filter(user__is_active=True),
        error_messages={"invalid_choice": _("Choose a colleague from the list.")},
    )


class StageForm(forms.Form):
    stage = forms.ChoiceField(choices=Stage.choices)
    reason = forms.CharField(required=False, max_length=500)


class FairOutcomeForm(forms.Form):
    fair_outcome = forms.CharField(required=False, max_length=5000)


class ResolutionForm(forms.Form):
    resolution = forms.CharField(required=False, max_length=5000)


class PlusOneForm(forms.Form):
    plus_one = forms.CharField(required=False, max_length=2000)


class FollowUpForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=FollowUpOutcome.choices,
        error_messages={"required": _("Choose how the follow-up went.")},
    )
    note = forms.CharField(required=False, max_length=2000)


class AssessmentForm(forms.Form):
    severity = forms.ChoiceField(choices=Severity.choices)
    complexity = forms.ChoiceField(
        choices=Complexity.choices, error_messages={"required": _("Choose a complexity.")}
    )
    impact = forms.ChoiceField(
        choices=Impact.choices, error_messages={"required": _("Choose the impact.")}
    )
    needs_immediate_action = forms.BooleanField(required=False)
    note = forms.CharField(required=False, max_length=2000)


class CommitmentForm(forms.Form):
    what = forms.CharField(required=False, max_length=300)
    due_at = forms.DateTimeField(
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        error_messages={
            "required": _("Say by when you will do it."),
            "invalid": _("Give the date and time as on the form."),
        },
    )
    how = forms.ChoiceField(
        choices=CommitmentHow.choices, error_messages={"required": _("Choose how.")}
    )


class KeepCommitmentForm(forms.Form):
    note = forms.CharField(required=False, max_length=2000)


class BreakCommitmentForm(forms.Form):
    reason = forms.CharField(required=False, max_length=2000)


class GestureForm(forms.Form):
    gesture_type = forms.ModelChoiceField(
        queryset=GestureType.objects.filter(active=True),
        to_field_name="key",
        error_messages={"required": _("Choose a kind of gesture.")},
    )
    value = forms.DecimalField(
        min_value=Decimal("0"),
        max_digits=10,
        decimal_places=2,
        required=False,
        error_messages={"min_value": _("A gesture cannot be worth less than nothing.")},
    )
    currency = forms.CharField(max_length=3, required=False)
    description = forms.CharField(required=False, max_length=300)
    plus_one = forms.BooleanField(required=False)
    reason = forms.CharField(required=False, max_length=1000)
    ask_approval = forms.BooleanField(required=False)


class DecideGestureForm(forms.Form):
    reason = forms.CharField(required=False, max_length=1000)
    next = forms.CharField(required=False, max_length=300)


class HandoffForm(forms.Form):
    to = _staff_choices()
    summary = forms.CharField(required=False, max_length=5000)
    tell_customer = forms.BooleanField(required=False)
    why = forms.CharField(required=False, max_length=300)
    customer_message = forms.CharField(required=False, max_length=5000)


class CollaboratorForm(forms.Form):
    staff = _staff_choices()


class LinkForm(forms.Form):
    other = forms.CharField(
        max_length=12, error_messages={"required": _("Give the case reference.")}
    )
    type = forms.ChoiceField(choices=LinkType.choices, required=False)


class MergeForm(forms.Form):
    into = forms.CharField(
        max_length=12, error_messages={"required": _("Give the reference of the case to keep.")}
    )


class EscalationForm(forms.Form):
    body = forms.ChoiceField(
        choices=EscalationBody.choices, error_messages={"required": _("Choose the external body.")}
    )
    body_name = forms.CharField(required=False, max_length=150)
    escalated_on = forms.DateField(
        error_messages={
            "required": _("Give the date."),
            "invalid": _("Give the date as YYYY-MM-DD."),
        }
    )
    reference = forms.CharField(required=False, max_length=100)
    outcome = forms.CharField(required=False, max_length=5000)


class WaitForm(forms.Form):
    reason = forms.CharField(required=False, max_length=500)


class NoteForm(forms.Form):
    text = forms.CharField(required=False, max_length=20_000)


def first_error(form: forms.Form) -> str:
    for field, errors in form.errors.items():
        label = "" if field == "__all__" else f"{field.replace('_', ' ').capitalize()}: "
        return f"{label}{errors[0]}"
    return "Check the form."
