"""Creating and matching customers."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from cherish.customers.models import ContactKind, ContactPoint, Customer
from cherish.customers.normalise import normalise_email, normalise_phone


@transaction.atomic
def find_or_create_customer(
    *,
    name: str = "",
    email: str = "",
    phone: str = "",
    external_id: str = "",
) -> tuple[Customer, bool]:
    """Match by external id, then email (case-insensitive), then normalised phone; else create.

    New contact points the customer gave are added to the matched customer, so the next
    contact by either route finds the same person. Returns (customer, created).
    """
    email_n = normalise_email(email) if email else None
    phone_n = normalise_phone(phone) if phone else None
    customer: Customer | None = None
    if external_id:
        customer = Customer.objects.filter(external_id=external_id).first()
    if customer is None and email_n:
        point = (
            ContactPoint.objects.select_related("customer")
            .filter(kind=ContactKind.EMAIL, value=email_n)
            .first()
        )
        customer = point.customer if point else None
    if customer is None and phone_n:
        point = (
            ContactPoint.objects.select_related("customer")
            .filter(kind=ContactKind.PHONE, value=phone_n)
            .first()
        )
        customer = point.customer if point else None
    while customer is not None and customer.merged_into_id is not None:
        customer = customer.merged_into
    created = customer is None
    if customer is None:
        customer = Customer.objects.create(name=name.strip(), external_id=external_id or None)
    else:
        changed = []
        if name and not customer.name:
            customer.name = name.strip()
            changed.append("name")
        if external_id and not customer.external_id:
            customer.external_id = external_id
            changed.append("external_id")
        if changed:
            customer.save(update_fields=[*changed, "updated_at"])
    for kind, value in ((ContactKind.EMAIL, email_n), (ContactKind.PHONE, phone_n)):
        if value:
            add_contact_point(customer, kind=kind, value=value)
    return customer, created


def add_contact_point(customer: Customer, *, kind: str, value: str) -> ContactPoint | None:
    """Attach a normalised contact point unless it already belongs to someone."""
    existing = ContactPoint.objects.filter(kind=kind, value=value).first()
    if existing:
        return existing if existing.customer_id == customer.pk else None
    try:
        with transaction.atomic():
            return ContactPoint.objects.create(customer=customer, kind=kind, value=value)
    except IntegrityError:  # another request added it between our check and insert
        return ContactPoint.objects.filter(kind=kind, value=value).first()
