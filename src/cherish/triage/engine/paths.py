"""Where the shipped files and the shared evaluation corpora live."""

from __future__ import annotations

import os
from pathlib import Path

ENGINE_DIR = Path(__file__).resolve().parent
TRIAGE_DIR = ENGINE_DIR.parent
TRAINING_DIR = TRIAGE_DIR / "training_data"
MODEL_DIR = TRIAGE_DIR / "model_files"
EVAL_FLOOR = TRIAGE_DIR / "eval_floor.json"
# Hand-written evaluation sets: never read by training (see eval/ headers).
HELDOUT_DIR = TRIAGE_DIR / "eval"


def shared_data_dir() -> Path:
    """``$CHERISH_SHARED_DATA`` or ``<repo root>/../shared/data``."""
    env = os.environ.get("CHERISH_SHARED_DATA")
    if env:
        return Path(env)
    repo_root = TRIAGE_DIR.parents[2]  # src/cherish/triage -> repo root
    return repo_root.parent / "shared" / "data"
