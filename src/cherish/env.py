"""The one place that reads ``CHERISH_*`` environment variables.

Defaults are right for a developer on SQLite; production changes only these values.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PREFIX = "CHERISH_"


def get(name: str, default: str = "") -> str:
    return os.environ.get(PREFIX + name, default)


def get_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def get_int(name: str, default: int) -> int:
    raw = os.environ.get(PREFIX + name)
    return int(raw) if raw else default


def get_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(PREFIX + name)
    if not raw:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def get_choice(name: str, choices: list[str], default: str) -> str:
    """An upper-cased value that must be one of ``choices``; anything else stops start-up."""
    raw = get(name, default).strip().upper()
    if raw not in choices:
        raise ValueError(f"{PREFIX}{name} must be one of {', '.join(choices)}, not {raw!r}")
    return raw


def data_dir() -> Path:
    path = Path(get("DATA_DIR", "./var")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def secret_key(directory: Path) -> str:
    """The configured key, or one generated on first start and kept in the data directory.

    Keeping it on disk means sessions and signed customer links survive a restart.
    """
    configured = get("SECRET_KEY")
    if configured:
        return configured
    key_file = directory / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_urlsafe(50)
    # O_EXCL: two processes starting together must not write two different keys.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
