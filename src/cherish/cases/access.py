"""Permission-checked fetches for the desk: "not found" for missing and forbidden alike."""

from __future__ import annotations

from cherish.cases.models import Attachment, Case, CaseQuerySet
from cherish.core.errors import NotFound
from cherish.core.references import normalise_reference
from cherish.staff.models import Staff


def visible_cases(staff: Staff) -> CaseQuerySet:
    """Every case this staff member may see.

    Any staff member may see any case for now; this is the one place to narrow it (by team,
    by role) later, and every desk read goes through it.
    """
    return Case.objects.all()


def access_case(staff: Staff, reference: str) -> Case:
    """The case with this reference (any spelling: ``ch-7k2qx9``, ``7K2QX9``) or NotFound."""
    canonical = normalise_reference(reference)
    if canonical is None:
        raise NotFound("No such case.")
    case = (
        visible_cases(staff)
        .select_related("customer", "owner", "team")
        .filter(reference=canonical)
        .first()
    )
    if case is None:
        raise NotFound("No such case.")
    return case


def access_attachment(staff: Staff, public_id: str) -> Attachment:
    """An attachment of a case the staff member may see, or NotFound."""
    attachment = Attachment.objects.select_related("message").filter(public_id=public_id).first()
    if (
        attachment is None
        or not visible_cases(staff).filter(pk=attachment.message.case_id).exists()
    ):
        raise NotFound("No such attachment.")
    return attachment
