"""A module imported on first use (no domain words here).

The web workers import every page at start (``cherish.wsgi``); a module that only some
background job needs, numpy above all (10 MiB of anonymous memory in each web worker, issue
#14.3), is named here instead and imported the first time one of its attributes is read.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module ``name`` until an attribute is read, then imports it."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        module: ModuleType = importlib.import_module(self._name)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"
