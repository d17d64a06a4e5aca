"""Refusals of the care workflow: a sentence for the person plus a stable code."""

from cherish.core.errors import CherishError, Forbidden


class CareError(CherishError):
    """A refusal of the workflow's rules: understood, but not allowed now (HTTP 422)."""

    code = "care_error"
    status = 422


class CareForbidden(CareError, Forbidden):
    """The rule exists, but this person may not apply it (e.g. approving one's own gesture)."""

    code = "care_forbidden"
    status = 403
