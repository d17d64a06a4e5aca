from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy


class AnswerForm(forms.Form):
    comment = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        label=gettext_lazy("Anything you would like to tell us? (optional)"),
    )
