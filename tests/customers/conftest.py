from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def write_csv(tmp_path: Path):
    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
