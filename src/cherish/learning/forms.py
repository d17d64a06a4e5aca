from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cherish.learning.models import (
    ActionStatus,
    Communication,
    LeakStep,
    Policy,
    RootCause,
    StoryKind,
    Theme,
    ThemeStatus,
)
from cherish.staff.models import Staff, Team


class RenameThemeForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(
        label=_("What this theme is about"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class MergeThemeForm(forms.Form):
    into = forms.ModelChoiceField(
        label=_("Merge into"), queryset=Theme.objects.filter(status=ThemeStatus.ACTIVE)
    )


class FindingForm(forms.Form):
    root_cause = forms.ModelChoiceField(
        label=_("Root cause"),
        queryset=RootCause.objects.filter(is_active=True),
        required=False,
        empty_label=_("Not known yet"),
    )
    leak_step = forms.ChoiceField(
        label=_("Where the problem leaked"),
        choices=[("", _("Not known yet")), *LeakStep.choices],
        required=False,
    )
    communication = forms.ChoiceField(
        label=_("Our communication that was wrong or missing"),
        choices=[("", _("None")), *Communication.choices],
        required=False,
    )
    communication_note = forms.CharField(label=_("What was wrong"), max_length=300, required=False)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class PolicyForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    summary = forms.CharField(
        label=_("What the policy says"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=Staff.objects.filter(user__is_active=True), required=False
    )
    review_by = forms.DateField(
        label=_("Review by"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    phrases = forms.CharField(
        label=_("Phrases that tie a reply to it"),
        required=False,
        max_length=500,
        help_text=_("Comma-separated, e.g. restocking fee, 30 days"),
    )
    is_active = forms.BooleanField(label=_("In force"), required=False, initial=True)


class PolicyTagForm(forms.Form):
    policy = forms.ModelChoiceField(
        label=_("Policy this complaint is about"), queryset=Policy.objects.filter(is_active=True)
    )


class ActionForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("What will change"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    theme = forms.ModelChoiceField(
        label=_("Theme"), queryset=Theme.objects.filter(status=ThemeStatus.ACTIVE), required=False
    )
    policy = forms.ModelChoiceField(
        label=_("Policy"), queryset=Policy.objects.all(), required=False
    )
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=Staff.objects.filter(user__is_active=True), required=False
    )
    due_date = forms.DateField(
        label=_("Due"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    status = forms.ChoiceField(label=_("Status"), choices=ActionStatus.choices)
    you_said = forms.CharField(
        label=_("You said (public words)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("What customers told us, as the public page will show it."),
    )
    we_did = forms.CharField(
        label=_("We did (public words)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("What we changed, as the public page will show it."),
    )


class LinkCaseForm(forms.Form):
    reference = forms.CharField(label=_("Case reference"), max_length=20)


class StoryForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind of story"), choices=StoryKind.choices, widget=forms.RadioSelect
    )
    title = forms.CharField(label=_("Title"), max_length=200)
    what_happened = forms.CharField(
        label=_("What happened"), widget=forms.Textarea(attrs={"rows": 4})
    )
    what_we_learned = forms.CharField(
        label=_("What we learned"), widget=forms.Textarea(attrs={"rows": 3})
    )
    what_we_changed = forms.CharField(
        label=_("What we changed"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    for_onboarding = forms.BooleanField(
        label=_("Show to new staff in their first weeks"), required=False
    )


class CirculateForm(forms.Form):
    teams = forms.ModelMultipleChoiceField(
        label=_("Teams"), queryset=Team.objects.all(), widget=forms.CheckboxSelectMultiple
    )
