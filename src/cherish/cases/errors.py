from cherish.core.errors import CherishError, Forbidden


class CaseError(CherishError):
    code = "case_error"


class CaseForbidden(CaseError, Forbidden):
    """A case the staff member may see but not change this way (HTTP 403)."""

    code = "case_forbidden"
    status = 403
