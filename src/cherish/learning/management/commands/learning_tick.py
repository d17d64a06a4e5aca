"""``cherish learning_tick``: put complaints that have no theme yet into one, link
complaints to the policies staff replies quote, send managers the weekly report (once a
week), credit staff for customer outcomes on the recognition wall, roll up yesterday's
customer count (once a day), and fit the themes again once a week (or now, with
``--recluster``).

Run every few minutes by ``cherish tick``; idempotent.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand

from cherish.cases.models import Case, Kind
from cherish.core.clock import now
from cherish.learning import actions

RECLUSTER_EVERY = dt.timedelta(days=7)
MIN_COMPLAINTS = 20


class Command(BaseCommand):
    help = "Assign unthemed complaints; re-cluster themes weekly."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--recluster", action="store_true", help="Fit the themes now.")

    def handle(self, *args: Any, **options: Any) -> None:
        model = actions.current_model()
        stale = model is None or now() - model.created_at > RECLUSTER_EVERY
        if options["recluster"] or (stale and _enough_complaints()):
            result = actions.recluster_themes()
            if options["verbosity"]:
                self.stdout.write(
                    f"themes: {result.created} new, {result.kept} kept, "
                    f"{result.retired} retired, {result.assigned} complaints assigned"
                )
        assigned = actions.assign_unthemed()
        linked = actions.link_policies_from_replies()
        actions.send_weekly_report()
        actions.collect_recognition()
        actions.refresh_customer_counts()
        if options["verbosity"]:
            self.stdout.write(
                f"assigned {assigned} unthemed complaints; {linked} linked to policies"
            )


def _enough_complaints() -> bool:
    return Case.objects.filter(kind=Kind.COMPLAINT)[:MIN_COMPLAINTS].count() >= MIN_COMPLAINTS
