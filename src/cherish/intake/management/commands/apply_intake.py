"""``cherish apply_intake``: add stored complaints to their cases.

Once (run by ``cherish tick`` every few seconds): applies every queued complaint older than a
few seconds, those whose web process died between storing and applying them. Safe beside
running web processes (one applier at a time, each complaint applied once).

With ``--loop`` (the applier process ``cherish serve`` starts): applies every stored
complaint as it comes, woken by the web processes that store them (intake.applier).

With ``--store`` (the intake store process ``cherish serve`` starts on SQLite): stores the
public form's complaints the web processes send it in the intake journal, a group at a time
(intake.applier.run_store_loop).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from cherish.intake.applier import apply_waiting, run_applier_loop, run_store_loop


class Command(BaseCommand):
    help = "Apply queued complaints: once (those no web process is applying), or --loop."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--loop",
            action="store_true",
            help="Keep applying every stored complaint as it comes (the applier process).",
        )
        parser.add_argument(
            "--store",
            action="store_true",
            help="Keep storing the public form's complaints sent by the web processes in the"
            " intake journal (the intake store process, on SQLite).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["store"]:
            run_store_loop()
            return
        if options["loop"]:
            run_applier_loop()
            return
        applied = apply_waiting()
        if options["verbosity"] and applied:
            self.stdout.write(f"Applied {applied} queued complaints.")
