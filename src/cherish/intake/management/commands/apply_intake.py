"""``cherish apply_intake``: add queued complaints whose web process died to their cases.

A web process applies the complaints it stored itself (intake.applier); one killed between
storing a complaint and applying it leaves the complaint queued. This applies every queued
complaint older than a few seconds. Run by ``cherish tick`` every few seconds; safe beside
running web processes (one applier at a time, each complaint applied once).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from cherish.intake.applier import apply_waiting


class Command(BaseCommand):
    help = "Apply queued complaints that no web process is applying."

    def handle(self, *args: Any, **options: Any) -> None:
        applied = apply_waiting()
        if options["verbosity"] and applied:
            self.stdout.write(f"Applied {applied} queued complaints.")
