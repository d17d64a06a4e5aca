"""The process-wide triager: loaded once, swapped when a newer trained model is activated.

Workers and web processes check the newest active ModelVersion at most every few seconds,
so `cherish triage train` swaps the model in without a restart (no downtime).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from cherish.triage.models import ModelVersion

if TYPE_CHECKING:
    from cherish.triage.engine import Triager

_CHECK_EVERY_S = 10.0
_lock = threading.Lock()
_state: dict[str, object] = {"triager": None, "key": None, "checked": float("-inf")}


def _wanted() -> tuple[str, Path | None]:
    latest = ModelVersion.objects.filter(active=True).order_by("-created_at", "-id").first()
    if latest is not None and (Path(latest.path) / "manifest.json").exists():
        return latest.version, Path(latest.path)
    return "shipped", None


def get_triager() -> Triager:
    # Imported here, not above: web workers import this module and never triage (the model
    # and numpy stay out of their memory).
    from cherish.triage.engine import Triager

    now = time.monotonic()
    triager = _state["triager"]
    if isinstance(triager, Triager) and now - float(_state["checked"]) < _CHECK_EVERY_S:  # type: ignore[arg-type]
        return triager
    with _lock:
        key, path = _wanted()
        _state["checked"] = now
        if not isinstance(_state["triager"], Triager) or _state["key"] != key:
            _state["triager"] = Triager.load(path)
            _state["key"] = key
        return _state["triager"]  # type: ignore[return-value]


def reset() -> None:
    """Forget the loaded model (tests)."""
    with _lock:
        _state.update({"triager": None, "key": None, "checked": float("-inf")})


def check_soon() -> None:
    """Look for a newer model on the next call (this process just activated one)."""
    with _lock:
        _state["checked"] = float("-inf")
