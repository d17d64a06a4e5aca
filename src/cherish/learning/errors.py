from cherish.core.errors import CherishError


class LearningError(CherishError):
    """A learning action refused: the message says why in a sentence staff can act on."""
