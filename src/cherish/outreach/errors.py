from __future__ import annotations

from cherish.core.errors import CherishError


class OutreachError(CherishError):
    code = "outreach_error"
