"""Cherish triage engine: kind, emotion, urgency, risk flags, topic, phase, language.

Pure Python + numpy at inference (scikit-learn only for training). No Django imports.

    from cherish.triage.engine import Triager
    triager = Triager.load()
    result = triager.triage("Why has nobody called me back after three weeks?")
"""

from .result import DEFAULT_TOPICS, EMOTIONS, FLAGS, KINDS, PHASES, URGENCIES, TriageResult
from .triager import KeywordTopics, Triager

__all__ = [
    "DEFAULT_TOPICS",
    "EMOTIONS",
    "FLAGS",
    "KINDS",
    "PHASES",
    "URGENCIES",
    "KeywordTopics",
    "TriageResult",
    "Triager",
    "evaluate",
    "train",
]


def train(*args, **kwargs):  # type: ignore[no-untyped-def]
    """See :func:`cherish.triage.engine.training.train` (imports scikit-learn lazily)."""
    from .training import train as _train

    return _train(*args, **kwargs)


def evaluate(data_dir, **kwargs):  # type: ignore[no-untyped-def]
    """See :func:`cherish.triage.engine.evalreport.run_eval`."""
    from .evalreport import run_eval

    return run_eval(data_dir, **kwargs)
