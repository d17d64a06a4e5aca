"""Permission-checked fetches for the desk's customer pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse

from cherish.customers.models import Customer
from cherish.staff.access import staff_for_user
from cherish.staff.models import Staff


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Desk pages: anonymous visitors go to the login page, non-staff users get 404."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        staff = staff_for_user(request.user)
        if staff is None:
            raise Http404("Not found")
        request.staff = staff  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper


def access_customer(staff: Staff, customer_id: int | str) -> Customer:
    """Any staff member of the organisation may see any customer; missing ids are 404."""
    del staff  # one organisation: every staff member may look after every customer
    try:
        return Customer.objects.get(pk=int(customer_id))
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise Http404("No such customer") from None
