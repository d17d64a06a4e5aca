"""Desk pages of the channels: mail that could not be read, and contacts logged by staff."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from cherish.cases.access import access_case_to_work
from cherish.cases.models import Channel, Kind
from cherish.core.errors import CherishError
from cherish.customers.access import access_customer
from cherish.customers.models import ContactKind, Customer
from cherish.desk.guard import DeskRequest, desk_view
from cherish.intake.actions import Contact, RawMaterial, accept_contact
from cherish.intake.email.receive import process_raw_email
from cherish.intake.models import RawContact, RawStatus

LOGGED_CHANNELS = [
    (Channel.PHONE, _lazy("Phone call")),
    (Channel.VISIT, _lazy("Visit")),
    (Channel.SOCIAL, _lazy("Social media")),
    (Channel.LETTER, _lazy("Letter")),
]


@desk_view
def unreadable(request: DeskRequest) -> HttpResponse:
    show = "ignored" if request.GET.get("show") == "ignored" else "failed"
    rows = RawContact.objects.filter(
        status=RawStatus.IGNORED if show == "ignored" else RawStatus.FAILED
    ).order_by("-received_at")[:200]
    return render(
        request,
        "intake/staff/unreadable.html",
        {
            "rows": list(rows),
            "show": show,
            "failed_count": RawContact.objects.filter(status=RawStatus.FAILED).count(),
        },
    )


@desk_view
def raw_download(request: DeskRequest, pk: int) -> HttpResponseBase:
    raw = get_object_or_404(RawContact, pk=pk)
    if not raw.raw_path:
        raise Http404
    response = FileResponse(
        open(settings.RAW_STORE_DIR / raw.raw_path, "rb"),  # noqa: SIM115 - FileResponse closes it
        as_attachment=True,
        filename=f"raw-{raw.pk}.eml" if raw.channel == "email" else f"raw-{raw.pk}.bin",
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@desk_view
def raw_retry(request: DeskRequest, pk: int) -> HttpResponse:
    raw = get_object_or_404(RawContact, pk=pk, status__in=[RawStatus.FAILED, RawStatus.IGNORED])
    if raw.channel != "email" or not raw.raw_path:
        messages.error(request, _("Only stored emails can be read again."))
        return redirect("intake:unreadable")
    outcome = process_raw_email(raw)
    if outcome.status == "processed":
        messages.success(request, _("The email was read and added to a case."))
    else:
        messages.error(
            request,
            _("Still not added (%(status)s): %(detail)s")
            % {"status": outcome.status, "detail": outcome.detail},
        )
    return redirect("intake:unreadable")


class LogContactForm(forms.Form):
    channel = forms.ChoiceField(
        choices=LOGGED_CHANNELS, initial=Channel.PHONE, label=_lazy("Channel")
    )
    kind = forms.ChoiceField(choices=Kind.choices, initial=Kind.COMPLAINT, label=_lazy("Kind"))
    customer = forms.IntegerField(required=False, widget=forms.HiddenInput)
    case = forms.CharField(required=False, max_length=12, widget=forms.HiddenInput)
    name = forms.CharField(required=False, max_length=200, label=_lazy("Customer name"))
    email = forms.EmailField(required=False, label=_lazy("Email"))
    phone = forms.CharField(required=False, max_length=40, label=_lazy("Phone"))
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=20_000,
        label=_lazy("What the customer said, in their words"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("customer") and not (data.get("email") or data.get("phone")):
            raise forms.ValidationError(
                "Give the customer's email or phone number so we can reach them again."
            )
        return data


def _identity(customer: Customer) -> dict[str, str]:
    points = {p.kind: p.value for p in reversed(list(customer.contact_points.all()))}
    return {
        "name": customer.name,
        "external_id": customer.external_id or "",
        "email": points.get(ContactKind.EMAIL, ""),
        "phone": points.get(ContactKind.PHONE, ""),
    }


@desk_view
def log_contact(request: DeskRequest) -> HttpResponse:
    staff = request.staff
    customer = None
    customer_id = request.POST.get("customer") or request.GET.get("customer")
    if customer_id:
        # Only a customer this staff member may see (customers.access); else "not found".
        customer = access_customer(staff, customer_id)
        if customer.erased_at is not None:
            customer = None
    initial = {"customer": customer.pk if customer else None, "case": request.GET.get("case", "")}
    form = LogContactForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["case"]:
            # Adding to an existing case is a change to it: the team boundary applies.
            access_case_to_work(staff, data["case"])
        identity = _identity(customer) if customer else {}
        if customer is not None and not any(identity[k] for k in ("external_id", "email", "phone")):
            identity.update(email=data["email"], phone=data["phone"])
        contact = Contact(
            channel=data["channel"],
            text=data["text"].strip(),
            kind=data["kind"],
            name=identity.get("name") or data["name"],
            email=identity.get("email") or data["email"],
            phone=identity.get("phone") or data["phone"],
            external_id=identity.get("external_id", ""),
            case_reference=data["case"],
            logged_by=staff,
            customer_id=customer.pk if customer else None,
        )
        payload = {
            "source": "staff",
            "staff": staff.pk,
            **{k: v for k, v in data.items() if k != "customer"},
            "customer": customer.pk if customer else None,
        }
        try:
            result = accept_contact(contact, raw=RawMaterial(payload=payload))
        except CherishError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request, _("Logged on case %(reference)s.") % {"reference": result.case.reference}
            )
            try:
                return redirect(reverse("cases:detail", args=[result.case.reference]))
            except NoReverseMatch:  # the desk case page is not installed yet
                return redirect("intake:log-contact")
    return render(request, "intake/staff/log_contact.html", {"form": form, "customer": customer})
