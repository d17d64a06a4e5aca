"""Permission-checked fetches for the desk's customer pages."""

from __future__ import annotations

from cherish.core.errors import NotFound
from cherish.customers.models import Customer
from cherish.staff.models import Staff


def access_customer(staff: Staff, customer_id: int | str) -> Customer:
    """Any staff member of the organisation may see any customer; missing ids are 404."""
    del staff  # one organisation: every staff member may look after every customer
    try:
        return Customer.objects.get(pk=int(customer_id))
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such customer.") from None
