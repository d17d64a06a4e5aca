from __future__ import annotations

from django import forms

from cherish.learning.models import Communication, LeakStep, RootCause, Theme, ThemeStatus


class RenameThemeForm(forms.Form):
    name = forms.CharField(label="Name", max_length=200)
    description = forms.CharField(
        label="What this theme is about", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class MergeThemeForm(forms.Form):
    into = forms.ModelChoiceField(
        label="Merge into", queryset=Theme.objects.filter(status=ThemeStatus.ACTIVE)
    )


class FindingForm(forms.Form):
    root_cause = forms.ModelChoiceField(
        label="Root cause",
        queryset=RootCause.objects.filter(is_active=True),
        required=False,
        empty_label="Not known yet",
    )
    leak_step = forms.ChoiceField(
        label="Where the problem leaked",
        choices=[("", "Not known yet"), *LeakStep.choices],
        required=False,
    )
    communication = forms.ChoiceField(
        label="Our communication that was wrong or missing",
        choices=[("", "None"), *Communication.choices],
        required=False,
    )
    communication_note = forms.CharField(label="What was wrong", max_length=300, required=False)
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 2}))
