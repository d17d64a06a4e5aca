"""Cherish triage engine: kind, emotion, urgency, risk flags, topic, phase, language.

Pure Python + numpy at inference (scikit-learn only for training). No Django imports.

    from cherish.triage.engine import Triager
    triager = Triager.load()
    result = triager.triage("Why has nobody called me back after three weeks?")
"""

from typing import TYPE_CHECKING, Any

from .result import DEFAULT_TOPICS, EMOTIONS, FLAGS, KINDS, PHASES, URGENCIES, TriageResult

if TYPE_CHECKING:
    from .triager import KeywordTopics, Triager


def __getattr__(name: str) -> Any:
    # The model and numpy load on first use: the task worker triages, a web worker that only
    # reads the labels above never pays their memory (issue #14.3).
    if name in ("KeywordTopics", "Triager"):
        from . import triager

        return getattr(triager, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
