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


TRIM_PROBE = """
from cherish.core.malloc import trim

def anon():
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon"):
            return int(line.split()[1]) // 1024

blocks = [bytearray(64 * 1024) for _ in range(400)]  # 25 MiB from malloc's heap
pin = bytearray(64 * 1024)  # above them: glibc's own trimming (the heap's top) cannot reach them
del blocks
before = anon()
done = trim()
print(done, before - anon())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_trim_gives_the_free_pages_in_the_middle_of_the_heap_back() -> None:
    done = subprocess.run(
        [sys.executable, "-c", TRIM_PROBE], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    trimmed, released_mib = done.stdout.split()
    assert trimmed == "True"
    assert int(released_mib) >= 15
