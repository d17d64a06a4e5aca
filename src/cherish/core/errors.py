"""The base of every business-rule refusal: a human sentence plus a stable code."""

from __future__ import annotations


class CherishError(Exception):
    code: str = "cherish_error"
    status: int = 400

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.field = field


class NotFound(CherishError):
    code = "not_found"
    status = 404


class Forbidden(CherishError):
    """The thing exists and the person may see it, but may not do this to it (HTTP 403).

    Objects a person may not see at all are NotFound instead, so nobody learns they exist.
    """

    code = "forbidden"
    status = 403


class RateLimited(CherishError):
    code = "rate_limited"
    status = 429
