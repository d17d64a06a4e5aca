"""The customers part of the REST API (mounted in cherish/api.py): create, read, update."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Status

from cherish.api_common import parse_id, problems
from cherish.core.errors import NotFound
from cherish.customers import actions
from cherish.customers.access import visible_customers
from cherish.customers.models import ContactKind, ContactPoint, Customer
from cherish.customers.normalise import normalise_email
from cherish.staff.audit import audit
from cherish.staff.principal import KeyScope, actor_of, key_scope, staff_of

from .schemas import CustomerExistsProblem, CustomerIn, CustomerOut, CustomerPatch

router = Router(tags=["customers"])


def _findable(request: HttpRequest) -> QuerySet[Customer]:
    """The customers this request may find: a staff member's key finds what that person sees
    at the desk (customers.access); an integration key, every customer."""
    staff = staff_of(request)
    return Customer.objects.all() if staff is None else visible_customers(staff)


def _viewed(request: HttpRequest, customer: Customer) -> Customer:
    """Log who read a customer's personal data through the API, as the desk's 360 page does
    (issue #9: who viewed, from where, when); ids only, never the data."""
    audit(
        request,
        "customer.viewed",
        by=staff_of(request),
        target_type="customer",
        target_id=customer.pk,
    )
    return customer


def _hide_other_holder(request: HttpRequest, error: actions.CustomerExists) -> None:
    """A 409 names the holder of a taken email or id only to a key that may see them."""
    if not _findable(request).filter(pk=error.existing.pk).exists():
        error.extra = {"customer_id": ""}


def _customer(
    customer_id: int | None = None, *, within: QuerySet[Customer] | None = None, **filters: object
) -> Customer:
    customers = (Customer.objects.all() if within is None else within).prefetch_related(
        "contact_points"
    )
    customer = (
        customers.filter(pk=customer_id).first()
        if customer_id is not None
        else customers.filter(**filters).first()
        if filters
        else None
    )
    if customer is None:
        raise NotFound("There is no such customer.")
    return customer


def _by_public_id(customer_id: str) -> Customer:
    return _customer(parse_id(customer_id) or 0)


@router.post(
    "/customers",
    response={201: CustomerOut, 409: CustomerExistsProblem, **problems(400, 401, 422)},
    summary="Create a customer",
)
@key_scope(KeyScope.CUSTOMERS_WRITE)
def create_customer(request: HttpRequest, payload: CustomerIn) -> Status[Customer]:
    """Needs at least one of email, phone or external_id. Answers 409 ``customer_exists``
    with the existing customer's id when one of them already belongs to someone."""
    try:
        customer = actions.create_customer(
            name=payload.name,
            email=payload.email,
            phone=payload.phone,
            external_id=payload.external_id,
            status=payload.status,
            language=payload.language,
            by=actor_of(request, KeyScope.CUSTOMERS_WRITE),
        )
    except actions.CustomerExists as error:
        _hide_other_holder(request, error)
        raise
    return Status(201, _customer(customer.pk))


@router.get(
    "/customers/by-email/{email}",
    response={200: CustomerOut, **problems(401, 404, 422)},
    summary="Find a customer by email address",
)
@key_scope(KeyScope.CUSTOMERS_READ)
def customer_by_email(request: HttpRequest, email: str) -> Customer:
    """Case-insensitive. A customer merged into another is answered with the survivor."""
    within = _findable(request)
    value = normalise_email(email)
    point = (
        ContactPoint.objects.select_related("customer")
        .filter(kind=ContactKind.EMAIL, value=value or "")
        .first()
    )
    if point is None:
        raise NotFound("No customer has this email address.")
    customer = point.customer
    seen = {customer.pk}
    while customer.merged_into_id and customer.merged_into_id not in seen:
        seen.add(customer.merged_into_id)
        customer = Customer.objects.get(pk=customer.merged_into_id)
    if not within.filter(pk=customer.pk).exists():
        raise NotFound("No customer has this email address.")
    return _viewed(request, _customer(customer.pk))


@router.get(
    "/customers/by-external-id/{external_id}",
    response={200: CustomerOut, **problems(401, 404, 422)},
    summary="Find a customer by your system's id",
)
@key_scope(KeyScope.CUSTOMERS_READ)
def customer_by_external_id(request: HttpRequest, external_id: str) -> Customer:
    return _viewed(request, _customer(within=_findable(request), external_id=external_id[:100]))


@router.get(
    "/customers/{customer_id}",
    response={200: CustomerOut, **problems(401, 404, 422)},
    summary="Read a customer",
)
@key_scope(KeyScope.CUSTOMERS_READ)
def read_customer(request: HttpRequest, customer_id: str) -> Customer:
    # cherish/api.py has already refused a staff key outside its boundary (customer_id).
    return _viewed(request, _by_public_id(customer_id))


@router.patch(
    "/customers/{customer_id}",
    response={200: CustomerOut, 409: CustomerExistsProblem, **problems(400, 401, 404, 422)},
    summary="Change a customer",
)
@key_scope(KeyScope.CUSTOMERS_WRITE)
def update_customer(request: HttpRequest, customer_id: str, payload: CustomerPatch) -> Customer:
    """Only the fields sent change. ``add_emails`` and ``add_phones`` add contact points;
    status ``left`` needs a ``leave_reason``. Answers 409 ``customer_exists`` when an
    external_id, email or phone belongs to another customer (and changes nothing). An erased
    customer is a tombstone: 404 ``customer_erased``, nothing is written."""
    customer = _by_public_id(customer_id)
    actions.refuse_erased(customer)
    by = actor_of(request, KeyScope.CUSTOMERS_WRITE)
    sent = payload.model_fields_set
    try:
        with transaction.atomic():
            profile = {
                name: getattr(payload, name)
                for name in ("name", "language")
                if name in sent and getattr(payload, name) is not None
            }
            if profile:
                actions.update_customer(customer, by=by, **profile)
            if "status" in sent and payload.status is not None:
                actions.change_customer_status(
                    customer,
                    status=payload.status,
                    reason=payload.leave_reason or "",
                    by=by,
                    source="api",
                )
            if payload.external_id or payload.add_emails or payload.add_phones:
                actions.change_customer_identity(
                    customer,
                    external_id=payload.external_id,
                    add_emails=payload.add_emails,
                    add_phones=payload.add_phones,
                    by=by,
                )
    except actions.CustomerExists as error:
        _hide_other_holder(request, error)
        raise
    return _customer(customer.pk)
