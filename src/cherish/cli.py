"""The ``cherish`` command: Django's manage.py for this project."""

from __future__ import annotations

import os
import sys


def main() -> None:
    # First, before anything starts a thread (core.malloc says why).
    from cherish.core.malloc import limit_arenas

    limit_arenas()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cherish.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
