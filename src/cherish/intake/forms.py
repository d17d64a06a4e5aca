"""The public complaint form: the shape of what a customer may send, checked before anything
is stored (a refused submission writes nothing, not even a raw record)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.formats import number_format
from django.utils.translation import gettext, gettext_lazy

from cherish.cases.actions import NewAttachment
from cherish.cases.models import Kind
from cherish.core.text import clean_text as tidy_text
from cherish.core.text import one_line
from cherish.customers.normalise import normalise_email, normalise_phone

KIND_CHOICES = [
    (Kind.COMPLAINT.value, gettext_lazy("make a complaint")),
    (Kind.INQUIRY.value, gettext_lazy("ask a question")),
    (Kind.COMPLIMENT.value, gettext_lazy("give a compliment")),
    (Kind.SUGGESTION.value, gettext_lazy("make a suggestion")),
]

ALLOWED_TYPES_TEXT = gettext_lazy("photos (JPEG, PNG, GIF, WebP, HEIC) or PDF documents")


def too_big_text(name: str, size: int, max_bytes: int) -> str:
    return gettext("“%(name)s” is %(size)s; each file must be %(limit)s or smaller.") % {
        "name": name,
        "size": filesizeformat(size),
        "limit": filesizeformat(max_bytes),
    }


def bad_type_text(name: str) -> str:
    return gettext("“%(name)s” is not a file type we accept. Attach %(types)s.") % {
        "name": name,
        "types": ALLOWED_TYPES_TEXT,
    }


def sniff_content_type(head: bytes) -> str | None:
    """The real type of a file from its first bytes; None when it is not one we accept.

    The declared type and the file name come from the sender and prove nothing, so a
    program renamed ``photo.png`` is refused here.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in (
        b"heic",
        b"heix",
        b"heim",
        b"heis",
        b"hevc",
        b"hevx",
        b"mif1",
        b"msf1",
    ):
        return "image/heic"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def safe_display_name(name: str) -> str:
    """The file's own name without any folder part or control characters."""
    base = PurePath(name.replace("\\", "/")).name
    return one_line(base, 200) or "attachment"


class BoundedTextarea(forms.Textarea):
    """A textarea that never echoes back more than a little over the limit.

    A 10 MB paste is refused; sending all of it back in the error page would only make the
    refusal slow (and the form is still there to shorten the text).
    """

    def __init__(self, *args: Any, echo_limit: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.echo_limit = echo_limit

    def format_value(self, value: Any) -> str | None:
        text = super().format_value(value)
        return text[: self.echo_limit] if text else text


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        if not data:
            return []
        items = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(item, initial) for item in items if item]


class _SharedFields(dict[str, forms.Field]):
    """A form's fields handed over as they are: ``Form.__init__`` deep-copies its
    ``base_fields``, and this copy is shallow."""

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, forms.Field]:
        return dict(self)


class ComplaintForm(forms.Form):
    """What happened, who you are and how to reach you. Email or phone: at least one."""

    text = forms.CharField(
        label=gettext_lazy("What happened?"),
        help_text=gettext_lazy(
            "Tell us in your own words. Include dates, places and what you would like us to do."
        ),
        strip=True,
        error_messages={"required": gettext_lazy("Tell us what happened.")},
    )
    name = forms.CharField(
        label=gettext_lazy("Your name"),
        max_length=200,
        error_messages={"required": gettext_lazy("Tell us your name.")},
    )
    email = forms.CharField(
        label=gettext_lazy("Email address"),
        required=False,
        max_length=254,
        help_text=gettext_lazy("We reply by email if you give one."),
        widget=forms.EmailInput(),
    )
    phone = forms.CharField(
        label=gettext_lazy("Phone number"),
        required=False,
        max_length=40,
        help_text=gettext_lazy(
            "Give an email address or a phone number (or both) so we can reply."
        ),
        widget=forms.TextInput(attrs={"type": "tel"}),
    )
    order_reference = forms.CharField(
        label=gettext_lazy("Order number or reference (optional)"),
        required=False,
        max_length=100,
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("I want to"),
        choices=KIND_CHOICES,
        initial=Kind.COMPLAINT.value,
        required=False,
        widget=forms.RadioSelect,
    )
    attachments = MultipleFileField(
        label=gettext_lazy("Photos or documents (optional)"),
        required=False,
        widget=MultipleFileInput(
            attrs={"accept": "image/jpeg,image/png,image/gif,image/webp,image/heic,.heic,.pdf"}
        ),
    )
    # Spam trap: hidden from people by CSS, filled in by robots that fill every field.
    website = forms.CharField(label=gettext_lazy("Leave this empty"), required=False)

    field_order = ["kind", "text", "name", "email", "phone", "order_reference", "attachments"]

    def __init__(self, *args: Any, display: bool = True, **kwargs: Any) -> None:
        """``display=False``: a form that only checks a submission and is never shown (the
        POST of a valid complaint). It shares the class's fields instead of deep-copying
        them and skips the hints written for display: together a fifth of the request's
        CPU. Checking reads fields and never changes them; a form to show (an error page)
        must be made with ``display=True``."""
        if not display:
            self.base_fields = _SharedFields(type(self).base_fields)
            super().__init__(*args, **kwargs)
            return
        super().__init__(*args, **kwargs)
        max_chars = settings.CHERISH_MAX_TEXT_CHARS
        self.fields["text"].widget = BoundedTextarea(attrs={"rows": 8}, echo_limit=max_chars + 1000)
        self.fields["text"].help_text = " ".join(
            [
                str(self.fields["text"].help_text),
                gettext("Up to %(count)s characters.") % {"count": _count(max_chars)},
            ]
        )
        self.fields["attachments"].help_text = gettext(
            "Up to %(count)s files, each up to %(size)s: %(types)s."
        ) % {
            "count": settings.CHERISH_MAX_ATTACHMENTS,
            "size": filesizeformat(settings.CHERISH_MAX_ATTACHMENT_BYTES),
            "types": ALLOWED_TYPES_TEXT,
        }
        autocomplete = {
            "name": "name",
            "email": "email",
            "phone": "tel",
            "order_reference": "off",
            "website": "off",
        }
        for name, value in autocomplete.items():
            self.fields[name].widget.attrs["autocomplete"] = value
        self.fields["website"].widget.attrs["tabindex"] = "-1"
        self.fields["email"].widget.attrs["inputmode"] = "email"
        self.fields["phone"].widget.attrs["inputmode"] = "tel"

    # -- fields ---------------------------------------------------------------------------

    def clean_text(self) -> str:
        text = tidy_text(self.cleaned_data["text"])
        limit = settings.CHERISH_MAX_TEXT_CHARS
        if len(text) > limit:
            raise forms.ValidationError(
                gettext(
                    "Please shorten your message to %(limit)s characters or fewer (it is "
                    "%(length)s). You can attach a PDF for longer documents."
                )
                % {"limit": _count(limit), "length": _count(len(text))},
                code="too_long",
            )
        if not text:
            raise forms.ValidationError(gettext("Tell us what happened."), code="required")
        return text

    def clean_name(self) -> str:
        name = one_line(self.cleaned_data["name"], 200)
        if not name:
            raise forms.ValidationError(gettext("Tell us your name."), code="required")
        return name

    def clean_email(self) -> str:
        raw = self.cleaned_data["email"].strip()
        if not raw:
            return ""
        email = normalise_email(raw)
        if email is None:
            raise forms.ValidationError(
                gettext("Enter an email address like name@example.com."), code="invalid"
            )
        return email

    def clean_phone(self) -> str:
        raw = self.cleaned_data["phone"].strip()
        if not raw:
            return ""
        phone = normalise_phone(raw)
        if phone is None:
            raise forms.ValidationError(
                gettext(
                    "Enter a phone number we can call, like 020 7946 0018 or +44 20 7946 0018."
                ),
                code="invalid",
            )
        return phone

    def clean_order_reference(self) -> str:
        return one_line(self.cleaned_data["order_reference"], 100)

    def clean_kind(self) -> str:
        return self.cleaned_data.get("kind") or Kind.COMPLAINT.value

    def clean_website(self) -> str:
        if self.cleaned_data["website"]:
            raise forms.ValidationError(
                gettext("This field must be left empty. Please clear it and send again."),
                code="spam",
            )
        return ""

    def clean_attachments(self) -> list[UploadedFile]:
        files: Sequence[UploadedFile] = self.cleaned_data["attachments"]
        limit = settings.CHERISH_MAX_ATTACHMENTS
        if len(files) > limit:
            raise forms.ValidationError(
                gettext("Attach at most %(limit)s files (you chose %(count)s).")
                % {"limit": limit, "count": len(files)},
                code="too_many",
            )
        errors: list[forms.ValidationError] = []
        max_bytes = settings.CHERISH_MAX_ATTACHMENT_BYTES
        for upload in files:
            name = safe_display_name(upload.name or "")
            if (upload.size or 0) > max_bytes:
                errors.append(
                    forms.ValidationError(
                        too_big_text(name, upload.size or 0, max_bytes), code="too_big"
                    )
                )
                continue
            upload.seek(0)
            content_type = sniff_content_type(upload.read(16))
            if content_type is None:
                errors.append(forms.ValidationError(bad_type_text(name), code="bad_type"))
        if errors:
            raise forms.ValidationError(errors)
        return list(files)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            not data.get("email")
            and not data.get("phone")
            and "email" not in self.errors
            and "phone" not in self.errors
        ):
            self.add_error(
                "email", gettext("Give an email address or a phone number so we can reply to you.")
            )
        return data

    # -- results --------------------------------------------------------------------------

    def new_attachments(self) -> list[NewAttachment]:
        """The accepted files, typed by their content rather than by what the sender said."""
        result = []
        for upload in self.cleaned_data.get("attachments") or []:
            upload.seek(0)
            content = upload.read()
            content_type = sniff_content_type(content[:16]) or "application/octet-stream"
            result.append(
                NewAttachment(
                    name=safe_display_name(upload.name or ""),
                    content_type=content_type,
                    content=content,
                )
            )
        return result

    def raw_payload(self) -> dict[str, Any]:
        """What the customer sent, for the raw record (file names and sizes, not bytes)."""
        data = self.cleaned_data
        return {
            "text": data["text"],
            "name": data["name"],
            "email": data["email"],
            "phone": data["phone"],
            "order_reference": data["order_reference"],
            "kind": data["kind"],
            "attachments": [
                {
                    "name": safe_display_name(upload.name or ""),
                    "size": upload.size,
                    "declared_type": one_line(upload.content_type or "", 100),
                }
                for upload in data.get("attachments") or []
            ],
        }


def _count(value: int) -> str:
    """A count as the active language groups digits: 20,000 / 20.000 / 20 000."""
    return number_format(value, force_grouping=True)


def describe_field(form: forms.Form, name: str) -> None:
    """Tie a field's hint and errors to its input for screen readers (aria-describedby)."""
    bound = form[name]
    ids = []
    if bound.help_text:
        ids.append(f"{bound.auto_id}_hint")
    if bound.errors:
        ids.append(f"{bound.auto_id}_error")
        bound.field.widget.attrs["aria-invalid"] = "true"
    if ids:
        bound.field.widget.attrs["aria-describedby"] = " ".join(ids)


def prepare_for_display(form: forms.Form) -> forms.Form:
    for name in form.fields:
        describe_field(form, name)
    return form
