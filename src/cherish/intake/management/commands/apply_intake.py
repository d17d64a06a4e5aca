"""``cherish apply_intake``: add stored complaints to their cases.

Once (run by ``cherish tick`` every few seconds): applies every queued complaint older than a
few seconds, those whose web process died between storing and applying them. Safe beside
running web processes (one applier at a time, each complaint applied once).

With ``--loop`` (the applier process ``cherish serve`` starts): applies every stored
complaint as it comes, woken by the web processes that store them (intake.applier).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from cherish.intake.applier import apply_waiting, run_applier_loop


class Command(BaseCommand):
    help = "Apply queued complaints: once (those no web process is applying), or --loop."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--loop",
            action="store_true",
            help="Keep applying every stored complaint as it comes (the applier process).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["loop"]:
            run_applier_loop()
            return
        applied = apply_waiting()
        if options["verbosity"] and applied:
            self.stdout.write(f"Applied {applied} queued complaints.")
