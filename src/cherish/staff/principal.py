"""Who an API request acts as: the staff member who owns the key, or "the system".

An API key belongs either to a **staff member** (it acts as them: their role, teams and
authority limits apply to every change, and every event names them) or to an **integration**
(a web shop, a CRM) with explicit scopes; an integration acts as the system and may only do
what its scopes allow. Who acted is always taken from the key, never from the request body.

Every API operation declares the scope it needs with ``@key_scope(...)`` (the OpenAPI
document lists it as ``x-cherish-scope``). An operation that records a person's decision
(a gesture, an approval, a reply in someone's name) is ``person=True``: integration keys get
403 ``staff_key_required`` there. An operation that declares nothing is refused to
integration keys (cherish/api.py), so a new endpoint is closed until someone says who may
call it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from django.http import HttpRequest
from django.utils.translation import gettext as _

from cherish.core.errors import CherishError, Forbidden
from cherish.staff.models import Staff


class KeyScope(StrEnum):
    """What an integration key may do (staff keys may do what their person may do)."""

    CASES_CREATE = "cases:create"
    CASES_READ = "cases:read"
    CASES_WRITE = "cases:write"
    CUSTOMERS_READ = "customers:read"
    CUSTOMERS_WRITE = "customers:write"
    TRANSACTIONS_READ = "transactions:read"
    TRANSACTIONS_WRITE = "transactions:write"
    FEEDBACK_READ = "feedback:read"
    LEARNING_READ = "learning:read"
    LEARNING_WRITE = "learning:write"


SCOPE_HELP: dict[KeyScope, str] = {
    KeyScope.CASES_CREATE: "Open cases and add the customer's messages (POST /cases).",
    KeyScope.CASES_READ: "Read cases, their messages, events and care state.",
    KeyScope.CASES_WRITE: "Move cases along the care workflow as the system (stage, "
    "resolution, links ...); replies, notes, gestures and approvals need a staff key.",
    KeyScope.CUSTOMERS_READ: "Look customers up and read them.",
    KeyScope.CUSTOMERS_WRITE: "Create customers and update their profile.",
    KeyScope.TRANSACTIONS_READ: "Read the customers' orders and payments.",
    KeyScope.TRANSACTIONS_WRITE: "Send orders and payments.",
    KeyScope.FEEDBACK_READ: "Read survey responses.",
    KeyScope.LEARNING_READ: "Read complaint themes, improvement actions and learning stories.",
    KeyScope.LEARNING_WRITE: "Plan improvement actions (a team lead's or manager's own key).",
}


def parse_scopes(values: list[str] | tuple[str, ...]) -> list[str]:
    """Known scopes, deduplicated and in catalogue order; ValueError names an unknown one."""
    known = {scope.value for scope in KeyScope}
    unknown = [value for value in values if value not in known]
    if unknown:
        raise ValueError(f"Unknown scope “{unknown[0]}”; known scopes: {', '.join(sorted(known))}.")
    return [scope.value for scope in KeyScope if scope.value in set(values)]


@dataclass(frozen=True, slots=True)
class ApiPrincipal:
    """The authenticated key of one API request (``request.auth``)."""

    key_id: int
    name: str
    staff: Staff | None
    scopes: frozenset[str] = field(default_factory=frozenset)
    record: Any = None  # the ApiKey row (intake owns the model), for idempotency records

    @property
    def kind(self) -> str:
        return "staff" if self.staff is not None else "integration"

    def allows(self, scope: str) -> bool:
        # A staff key acts as its person; what that person may do is for the access rules.
        return self.staff is not None or scope in self.scopes


class MissingScope(Forbidden):
    code = "missing_scope"


class StaffKeyRequired(Forbidden):
    code = "staff_key_required"


def principal_of(request: HttpRequest) -> ApiPrincipal:
    principal = getattr(request, "auth", None)
    if not isinstance(principal, ApiPrincipal):
        raise CherishError(_("This request was not authenticated."), code="not_authenticated")
    return principal


def staff_of(request: HttpRequest) -> Staff | None:
    """The staff member whose key sent the request; None for an integration key (which acts
    as the system) or a request without one. Reads use it to stay inside that person's
    boundary."""
    principal = getattr(request, "auth", None)
    return principal.staff if isinstance(principal, ApiPrincipal) else None


def require_scope(request: HttpRequest, scope: str) -> ApiPrincipal:
    """The request's principal, if its key has ``scope``; 403 ``missing_scope`` otherwise."""
    principal = principal_of(request)
    if not principal.allows(scope):
        raise MissingScope(
            f"This key (“{principal.name}”) lacks the scope {scope}. "
            "Ask an administrator to create a key with it.",
        )
    return principal


def actor_of(request: HttpRequest, scope: str) -> Staff | None:
    """Who acts: the key's staff member, or None (the system) for an integration key."""
    return require_scope(request, scope).staff


def person_of(request: HttpRequest, scope: str) -> Staff:
    """The key's staff member; integration keys get 403 ``staff_key_required``."""
    principal = require_scope(request, scope)
    if principal.staff is None:
        raise StaffKeyRequired(
            "This is done in a person's name: use the API key of the staff member who does it "
            "(an integration key acts as the system).",
        )
    return principal.staff


F = TypeVar("F", bound=Callable[..., Any])

SCOPE_ATTR = "cherish_key_scope"


@dataclass(frozen=True, slots=True)
class ScopeRule:
    scope: str
    person: bool


def key_scope(scope: KeyScope, *, person: bool = False) -> Callable[[F], F]:
    """Declare the scope an API operation needs; cherish/api.py enforces it before the
    operation runs (``enforce``). Put it below ``@router.get/post/...``. ``person=True``:
    only staff keys."""

    def declare(view: F) -> F:
        setattr(view, SCOPE_ATTR, ScopeRule(scope=scope.value, person=person))
        return view

    return declare


def enforce(rule: ScopeRule | None, request: HttpRequest) -> None:
    """Refuse the request unless its key may run an operation declared with ``rule``.

    An operation that declared nothing is for staff keys only. Requests the operation lets
    in without a key (``auth=None``) are not this function's business.
    """
    if not isinstance(getattr(request, "auth", None), ApiPrincipal):
        return
    if rule is None:
        if principal_of(request).staff is None:
            raise StaffKeyRequired("This endpoint is open to staff members' keys only.")
    elif rule.person:
        person_of(request, rule.scope)
    else:
        require_scope(request, rule.scope)


def scope_rule(view: Callable[..., Any]) -> ScopeRule | None:
    rule = getattr(view, SCOPE_ATTR, None)
    return rule if isinstance(rule, ScopeRule) else None
