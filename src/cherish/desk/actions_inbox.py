"""The inbox's own changes (saved views). Case changes go through the cases and care actions."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from cherish.core.clock import now
from cherish.core.errors import CherishError
from cherish.desk.models import SavedView
from cherish.staff.models import Staff


class DeskError(CherishError):
    code = "desk_error"


@transaction.atomic
def save_inbox_view(staff: Staff, *, name: str, params: dict[str, str]) -> SavedView:
    """Keep a named inbox view for ``staff``: the view, filters and sort as query parameters.

    Refuses an empty name ('view_name_required') and a name the agent already uses
    ('view_name_taken'). Writes no case event: it changes nothing about any case.
    """
    name = name.strip()[:60]
    if not name:
        raise DeskError(_("Give the view a name."), code="view_name_required", field="name")
    try:
        with transaction.atomic():
            return SavedView.objects.create(
                staff=staff, name=name, params=dict(params), created_at=now()
            )
    except IntegrityError as error:
        raise DeskError(
            _("You already have a view with that name."), code="view_name_taken", field="name"
        ) from error


@transaction.atomic
def delete_inbox_view(staff: Staff, *, view_id: int) -> bool:
    """Delete one of ``staff``'s own saved views; another's is left alone (False)."""
    deleted, _rows = SavedView.objects.filter(pk=view_id, staff=staff).delete()
    return bool(deleted)
