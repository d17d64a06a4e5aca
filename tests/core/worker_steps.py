"""Follow-on steps that tests put between the real ones, run inside real worker processes."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


def pause_once(*args: Any) -> None:
    """The first run announces itself (a file) and waits to be killed; later runs go on."""
    marker = Path(os.environ["CHERISH_TEST_PAUSE_DIR"]) / "paused"
    try:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        return
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    time.sleep(300)
