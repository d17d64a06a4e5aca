from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from cherish.staff.models import Staff, Team


class ThanksForm(forms.Form):
    staff = forms.ModelChoiceField(
        label=_("Colleague"), queryset=Staff.objects.filter(user__is_active=True)
    )
    message = forms.CharField(
        label=_("What they did to help"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class NominationForm(forms.Form):
    nominee = forms.ModelChoiceField(
        label=_("Colleague"), queryset=Staff.objects.filter(user__is_active=True)
    )
    reason = forms.CharField(
        label=_("Why they deserve it"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Their recognitions this month are attached as evidence."),
    )


class PulseForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    questions = forms.CharField(
        label=_("Questions, one a line"),
        widget=forms.Textarea(attrs={"rows": 4}),
        initial="I can give customers the service they deserve.\n"
        "My tools help me do my job.\n"
        "I get the support I need from my lead.",
    )
    opens_at = forms.DateTimeField(
        label=_("Opens"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    closes_at = forms.DateTimeField(
        label=_("Closes"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )


SCORES = [(str(i), str(i)) for i in range(1, 6)]


class AnswerForm(forms.Form):
    comment = forms.CharField(
        label=_("Anything else (optional, shown only with five or more answers)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: object, questions: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for index, question in enumerate(questions):
            self.fields[f"q{index}"] = forms.TypedChoiceField(
                label=question,
                choices=SCORES,
                coerce=int,
                widget=forms.RadioSelect,
                help_text=_("1 strongly disagree, 5 strongly agree"),
            )
        self.order_fields([f"q{i}" for i in range(len(questions))] + ["comment"])

    def scores(self) -> dict[int, int]:
        return {
            int(name[1:]): value
            for name, value in self.cleaned_data.items()
            if name.startswith("q")
        }


class PlanForm(forms.Form):
    title = forms.CharField(label=_("What we will do"), max_length=200)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.all(), required=False)
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=Staff.objects.filter(user__is_active=True), required=False
    )
    due_date = forms.DateField(
        label=_("Due"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    detail = forms.CharField(
        label=_("Detail"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


def _other_languages() -> list[tuple[str, str]]:
    """The languages the pages speak besides the organisation's own, as (code, own name)."""
    return [(code, name) for code, name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


class CreedForm(forms.Form):
    """The creed in the organisation's language, and a field for each other language the
    pages speak (blank: that language's pages show the main text, or the built-in creed's
    translation while the main text is the built-in one)."""

    text = forms.CharField(
        label=_("Our customer-service creed"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for code, name in _other_languages():
            self.fields[f"text_{code}"] = forms.CharField(
                label=name,
                required=False,
                max_length=4000,
                widget=forms.Textarea(attrs={"rows": 5, "lang": code}),
            )

    def translation_fields(self) -> list[forms.BoundField]:
        return [self[f"text_{code}"] for code, _ in _other_languages()]

    def translations(self) -> dict[str, str]:
        return {code: self.cleaned_data.get(f"text_{code}", "") for code, _ in _other_languages()}

    @staticmethod
    def initial_for(text: str, translations: dict[str, str]) -> dict[str, str]:
        return {"text": text} | {
            f"text_{code}": translations.get(code, "") for code, _ in _other_languages()
        }


class TeamFilterForm(forms.Form):
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.all(), required=False, empty_label=_("All teams")
    )


class AuditFilterForm(forms.Form):
    """The audit log's filters (GET)."""

    action = forms.CharField(
        required=False,
        max_length=60,
        label=_("Action"),
        help_text=_("The start of it is enough, e.g. “customer.” or “apikey.”."),
    )
    outcome = forms.ChoiceField(
        required=False,
        label=_("Outcome"),
        choices=[("", _("Any")), ("done", _("Done")), ("refused", _("Refused"))],
    )
    actor = forms.CharField(required=False, max_length=100, label=_("Who"))
    since = forms.DateField(required=False, label=_("From (YYYY-MM-DD)"))
    until = forms.DateField(required=False, label=_("Until (YYYY-MM-DD)"))
