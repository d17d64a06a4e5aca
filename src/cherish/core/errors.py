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


class RateLimited(CherishError):
    code = "rate_limited"
    status = 429
