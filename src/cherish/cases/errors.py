from cherish.core.errors import CherishError


class CaseError(CherishError):
    code = "case_error"
