"""Fewer malloc arenas for Cherish's long-running, threaded processes.

glibc gives each thread that contends for the allocator an arena of its own (up to 8 per
core), and an arena keeps the memory it once held. A web worker's 8 threads and its intake
applier thread made it 12 MiB heavier in anonymous memory after the same 800 form complaints
(115 against 103 MiB with 2 arenas: ``bench/bench_intake.py``, 2026-12-02, issue #14.3) for
no measurable speed.

glibc fixes the limit the first time a thread needs a new arena, and importing numpy starts
threads that do: so the limit is set first thing in ``cherish`` (``cherish.cli``), before
Django or anything else is imported, and every process forked from it (``cherish serve``'s
web workers, task workers and applier) inherits it. No Django here.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from typing import Any

# glibc's M_ARENA_MAX (malloc.h).
M_ARENA_MAX = -8
DEFAULT_ARENAS = 2


def limit_arenas() -> bool:
    """At most ``CHERISH_MALLOC_ARENAS`` (default 2) malloc arenas in this process and the
    processes forked from it; 0 leaves glibc's default. ``MALLOC_ARENA_MAX`` in the
    environment (which glibc reads itself) wins. False where nothing was set."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        arenas = int(os.environ.get("CHERISH_MALLOC_ARENAS", DEFAULT_ARENAS))
    except ValueError:
        arenas = DEFAULT_ARENAS
    name = ctypes.util.find_library("c")
    if arenas <= 0 or not name:
        return False
    try:
        return bool(ctypes.CDLL(name).mallopt(M_ARENA_MAX, arenas))
    except (AttributeError, OSError):  # not glibc
        return False


_libc: Any = None


def trim() -> bool:
    """``malloc_trim(0)``: return the free pages of every arena to the kernel (not only the
    top of the heap, as glibc does by itself). False where there is no glibc."""
    global _libc
    if _libc is None:
        name = ctypes.util.find_library("c")
        _libc = ctypes.CDLL(name) if name else False
    if not _libc:
        return False
    try:
        return bool(_libc.malloc_trim(0))
    except AttributeError:  # not glibc
        _libc = False
        return False
