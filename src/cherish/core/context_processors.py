from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, get_script_prefix, reverse
from django.utils.translation import gettext_lazy as _

# The desk's main navigation: (label, url name). Entries whose page is not installed are
# skipped, so an app adds its page here and the link appears once its URL exists.
DESK_NAV = [
    (_("Inbox"), "desk:inbox"),
    (_("Due & approvals"), "care:due"),
    (_("Customers"), "customers:list"),
    (_("Moments"), "outreach:moments"),
    (_("Churn radar"), "outreach:radar"),
    (_("Scorecard"), "scorecard:index"),
    (_("Surveys"), "feedback:surveys"),
    (_("Learning"), "learning:index"),
    (_("People"), "staff:wall"),
    (_("Could not read"), "intake:unreadable"),
    (_("Tasks"), "outbox:tasks"),
    (_("Audit log"), "staff:audit-log"),
    (_("Admin"), "admin:index"),
]
# Pages only some roles may open, by the roles whose default permissions or rules allow them
# (staff/roles.py, scorecard/access.py, outbox/views.py). By role name, not permission, so the
# links cost no query: the desk guard has loaded request.user.staff. A link the reader would
# only get "Not allowed" from is not shown; the page itself still checks.
ROLE_GATED = {
    "staff:audit-log": {"manager", "administrator"},
    "scorecard:index": {"lead", "manager"},
    "outbox:tasks": {"manager", "administrator"},
}


def _may_open(request: HttpRequest, name: str) -> bool:
    roles = ROLE_GATED.get(name)
    if roles is None:
        return True
    user = request.user
    if getattr(user, "is_superuser", False):
        return True
    staff = getattr(user, "staff", None)
    if getattr(staff, "role", "") in roles:
        return True
    # An agent who leads a team reads that team's scorecard (scorecard.access); the guard has
    # usually worked out the staff member's scope already, and this costs no query when not.
    scope = getattr(staff, "_cherish_scope", None) if staff is not None else None
    return name == "scorecard:index" and bool(getattr(scope, "led_team_ids", None))


# The installed entries of DESK_NAV with their URLs, per script prefix: the URLconf does not
# change while a process runs (and has no language prefixes), so each is reversed once
# rather than on every page. Which of them a reader sees is still decided per request.
_NAV_URLS: dict[str, list[tuple[Any, str, str]]] = {}
_NOTIFICATION_URLS: dict[str, tuple[str, str]] = {}


def _nav_urls() -> list[tuple[Any, str, str]]:
    prefix = get_script_prefix()
    found = _NAV_URLS.get(prefix)
    if found is None:
        found = []
        for label, name in DESK_NAV:
            try:
                found.append((label, name, reverse(name)))
            except NoReverseMatch:
                continue
        _NAV_URLS[prefix] = found
    return found


def _notification_urls() -> tuple[str, str]:
    prefix = get_script_prefix()
    found = _NOTIFICATION_URLS.get(prefix)
    if found is None:
        found = (reverse("desk:notifications"), reverse("desk:notification-badge"))
        _NOTIFICATION_URLS[prefix] = found
    return found


def _nav(request: HttpRequest, *, also: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The navigation, with the one item the page belongs to marked current: the longest
    address the page's path starts with (``/desk/notifications/`` is not the inbox at
    ``/desk/``). ``also``: other links in the bar that may win the match and light nothing."""
    items: list[dict[str, Any]] = []
    for label, name, url in _nav_urls():
        if name == "admin:index" and not getattr(request.user, "is_staff", False):
            continue
        if not _may_open(request, name):
            continue
        items.append({"label": label, "url": url, "current": False})
    urls: list[str] = [*(str(item["url"]) for item in items), *also]
    matches = [url for url in urls if url != "/" and request.path.startswith(url)]
    best = max(matches, key=len, default=None)
    for item in items:
        item["current"] = item["url"] == best
    return items


def cherish(request: HttpRequest) -> dict[str, Any]:
    context: dict[str, Any] = {"org_name": settings.CHERISH_ORG_NAME}
    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        # The notifications link polls its unread count (cherish.desk.views_live), so pages
        # pay nothing for it when they render.
        context["notifications_url"], context["notifications_badge_url"] = _notification_urls()
        context["desk_nav"] = _nav(request, also=(context["notifications_url"],))
        context["desk_poll_seconds"] = settings.CHERISH_DESK_POLL_SECONDS
    return context
