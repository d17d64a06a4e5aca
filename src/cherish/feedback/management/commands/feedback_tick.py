"""``cherish feedback_tick``: send due survey invitations and close loops a lost task left.

Run every minute by ``cherish tick``; idempotent, so running it twice costs only time.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from cherish.feedback import actions


class Command(BaseCommand):
    help = "Invite customers of closed cases and due customers to surveys; close open loops."

    def handle(self, *args: Any, **options: Any) -> None:
        after_case = actions.invite_after_closed_cases()
        periodic = actions.invite_periodic()
        loops = actions.close_open_loops()
        if options["verbosity"]:
            self.stdout.write(
                f"after-case invitations {after_case}, periodic {periodic}, loops closed {loops}"
            )
