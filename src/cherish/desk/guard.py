"""The one desk guard: who may open a staff page, and the one way the desk says no.

Every staff page is wrapped in ``desk_view``. It decides once, for the whole desk:

- an anonymous visitor is sent to the login page (and back afterwards);
- a signed-in account without a staff profile (an outsider) gets 403: the desk is not theirs;
- an object outside the staff member's boundary — another team's case, a customer they do
  not care for, a typo — is 404, the same answer for "missing" and "forbidden", so nobody
  learns what exists (the access functions raise ``NotFound``);
- an object they may see, but an act their role or the organisation does not allow them
  (erase without the right, approve what was routed to someone else, change another team's
  case they may only read), is 403, and the refusal is written to the audit log (the access
  functions and actions raise ``Forbidden``).

The rules themselves live in each app's ``access.py`` (``cases.access.access_case`` …); the
guard only gives the view a typed request (``DeskRequest.staff`` is never None) and turns the
two refusals into answers.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, cast

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.template.loader import render_to_string
from django.utils.translation import gettext

from cherish.core.errors import Forbidden, NotFound
from cherish.staff.access import staff_for_user
from cherish.staff.audit import audit
from cherish.staff.models import Staff

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

P = ParamSpec("P")

# Set on every guarded view; the generated route test checks every desk URL carries it.
GUARD_MARK = "cherish_desk_guarded"


class DeskRequest(HttpRequest):
    """A request the guard let in: a signed-in, active staff member is always there."""

    staff: Staff
    htmx: HtmxDetails


DeskHandler = Callable[Concatenate[DeskRequest, P], HttpResponseBase]
GuardedView = Callable[Concatenate[HttpRequest, P], HttpResponseBase]


def desk_view(view: DeskHandler[P]) -> GuardedView[P]:
    """Let staff in and answer refusals the desk's one way (see the module docstring)."""

    @wraps(view)
    def guarded(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        staff = staff_for_user(request.user)
        if staff is None:
            return _forbidden(request, gettext("The desk is for staff."))
        desk_request = cast(DeskRequest, request)
        desk_request.staff = staff
        try:
            return view(desk_request, *args, **kwargs)
        except NotFound as error:
            raise Http404(error.message) from error
        except Forbidden as error:
            record_refusal(desk_request, error)
            return _forbidden(request, error.message)

    setattr(guarded, GUARD_MARK, True)
    return guarded


def is_guarded(view: Any) -> bool:
    """Was ``view`` (or the view it wraps) made by ``desk_view``?"""
    seen = 0
    while view is not None and seen < 10:
        if getattr(view, GUARD_MARK, False):
            return True
        view = getattr(view, "__wrapped__", None)
        seen += 1
    return False


def record_refusal(request: DeskRequest, error: Forbidden, *, target: str = "") -> None:
    """Write a refused act to the audit log: who, what (the error's code), where, from where.

    The guard calls it for every ``Forbidden`` that reaches it; a view that shows a refusal
    in place (a panel message) calls it itself.
    """
    audit(
        request,
        f"desk.{error.code}",
        by=request.staff,
        outcome="refused",
        target_type="path",
        target_id=target or request.path,
        detail={"method": request.method or "", "message": error.message[:200]},
    )


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    body = render_to_string("desk/forbidden.html", {"message": message}, request=request)
    return HttpResponse(body, status=403)
