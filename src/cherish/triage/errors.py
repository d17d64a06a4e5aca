from cherish.core.errors import CherishError


class TriageError(CherishError):
    code = "triage_error"
