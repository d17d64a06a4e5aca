from __future__ import annotations

from cherish.core.errors import CherishError, NotFound


class FeedbackError(CherishError):
    code = "feedback_error"


class SurveyClosed(FeedbackError):
    """The invitation expired unanswered, or the answers can no longer be changed."""

    code = "survey_closed"
    status = 410


class SurveyNotFound(NotFound):
    code = "survey_not_found"
