"""`cherish messages compile|check`: our catalogues without GNU gettext (core.catalogues)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cherish.core import catalogues


class Command(BaseCommand):
    help = "Compile the translation catalogues (compile) or list what is missing (check)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["compile", "check"])

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "compile":
            for path in catalogues.compile_all():
                self.stdout.write(f"wrote {path}")
            return
        problems = catalogues.missing_translations() + [
            f"{path} is stale: run `cherish messages compile`"
            for path in catalogues.stale_compiled_files()
        ]
        for line in problems:
            self.stdout.write(line)
        if problems:
            raise CommandError(f"{len(problems)} problem(s) in the translation catalogues")
        self.stdout.write("Catalogues complete and compiled.")
