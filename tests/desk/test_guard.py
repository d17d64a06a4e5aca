"""The one desk guard: every staff page goes through it and refuses the same way."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from cherish.core.errors import Forbidden, NotFound
from cherish.desk.guard import DeskRequest, desk_view, is_guarded
from cherish.staff.models import AuditEntry

# Pages that are not the desk: the customer's side, sign-in, health, the admin (its own
# guard, administrators only) and the API (its own key authentication).
NOT_DESK = ("admin/", "api/v1/")
PUBLIC = {
    "core:home",
    "core:healthz",
    "core:login",
    "core:login_verify",
    "core:logout",
    # One's own sign-in settings (two-factor enrolment: login_required, any signed-in person)
    # and single sign-on (the OIDC redirect, callback and logout).
    "staff:two_factor",
    "None:oidc_authentication_init",
    "None:oidc_authentication_callback",
    "None:oidc_logout",
    "intake:complain",
    "intake:thanks",
    "outreach:answer",
    "feedback:survey",
    "feedback:click",
    "feedback:opt-out",
    "feedback:rate",
    "portal:open",
    "portal:case",
    "portal:reply",
    "portal:solved",
    "portal:new-link",
    "portal:download",
    "learning:you-said-we-did",
    "None:set_language",  # the language switcher of public pages (Django's set_language)
}


def _routes(patterns: list, prefix: str = "", namespace: str | None = None):  # type: ignore[type-arg]
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(
                pattern.url_patterns, prefix + str(pattern.pattern), pattern.namespace or namespace
            )
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), f"{namespace}:{pattern.name}", pattern.callback


def test_every_staff_page_goes_through_the_one_guard():
    unguarded = [
        name
        for route, name, view in _routes(get_resolver().url_patterns)
        if not route.startswith(NOT_DESK) and name not in PUBLIC and not is_guarded(view)
    ]
    assert unguarded == []


def test_every_desk_address_is_under_desk():
    outside = [
        name
        for route, name, view in _routes(get_resolver().url_patterns)
        if is_guarded(view) and not route.startswith("desk/")
    ]
    assert outside == []


@desk_view
def _refuses(request: DeskRequest, how: str) -> None:
    if how == "hidden":
        raise NotFound("No such case.")
    raise Forbidden("Only a manager may export a customer.", code="export_not_allowed")


def _request(user):
    request = RequestFactory().post("/desk/somewhere/")
    request.user = user
    return request


def test_anonymous_visitors_go_to_the_login_page(client, complaint):
    response = client.get(reverse("cases:detail", args=[complaint.reference]))
    assert (response.status_code, response["Location"]) == (
        302,
        f"/login/?next=/desk/cases/{complaint.reference}/",
    )


def test_outsiders_get_403_on_every_desk_page(client, complaint, django_user_model):
    client.force_login(django_user_model.objects.create_user("mallory", password="x" * 20))
    response = client.get(reverse("desk:inbox"))
    assert response.status_code == 403
    assert "The desk is for staff." in response.content.decode()


def test_hidden_objects_are_404_and_refused_acts_are_403_and_audited(agent):
    from django.http import Http404

    with pytest.raises(Http404):
        _refuses(_request(agent.user), "hidden")
    assert not AuditEntry.objects.exists()

    response = _refuses(_request(agent.user), "forbidden")

    assert response.status_code == 403
    assert "Only a manager may export a customer." in response.content.decode()
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.outcome, entry.target_id, entry.via) == (
        agent,
        "desk.export_not_allowed",
        "refused",
        "/desk/somewhere/",
        "desk",
    )


def test_the_view_gets_the_staff_member_on_the_request(desk_client, agent):
    response = desk_client.get(reverse("desk:inbox"))
    assert response.status_code == 200
    assert response.wsgi_request.staff == agent  # type: ignore[attr-defined]


def test_desk_views_read_the_staff_member_without_type_ignores():
    from pathlib import Path

    import cherish

    root = Path(cherish.__file__).parent
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for path in root.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if ("request.staff" in line or "request.htmx" in line) and "type: ignore" in line
    ]
    assert offenders == []
