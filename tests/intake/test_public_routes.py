"""The public complaint routes are found first (issue #14: intake CPU per complaint)."""

from __future__ import annotations

from django.urls import resolve


def test_the_complaint_form_and_its_thanks_are_resolved_before_the_desks_routes() -> None:
    """Django tries the URL patterns in order and records each one that failed: the form's
    route came after the core and staff pages and cost three times the resolving of an API
    call."""
    form = resolve("/complain/")
    thanks = resolve("/complain/thanks/some-token/")
    assert (form.view_name, thanks.view_name) == ("intake:complain", "intake:thanks")
    # only the API's routes are tried before them
    assert all(str(tried[0].pattern) in ("api/v1/", "") for tried in form.tried)
    assert len(form.tried) <= 2
    assert len(thanks.tried) <= 3
