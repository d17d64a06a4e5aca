"""``cherish`` limits glibc's malloc arenas first thing (core.malloc, issue #14.3)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = "from cherish.core.malloc import limit_arenas; print(limit_arenas())"


def _probe(**env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    environment.update(env)
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=environment, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_the_arena_limit_is_set_unless_the_environment_says_otherwise() -> None:
    assert _probe() == "True"
    assert _probe(CHERISH_MALLOC_ARENAS="4") == "True"
    # glibc's own variable wins, and 0 leaves glibc's default
    assert _probe(MALLOC_ARENA_MAX="8") == "False"
    assert _probe(CHERISH_MALLOC_ARENAS="0") == "False"


def test_the_cherish_command_sets_it_before_django_is_imported() -> None:
    import inspect

    from cherish import cli

    source = inspect.getsource(cli.main)
    assert source.index("limit_arenas()") < source.index("django")
