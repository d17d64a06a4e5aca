"""Derive notifications for the staff who asked for email copies, and queue those emails."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from cherish.desk.actions import sync_notifications
from cherish.desk.models import DeskState


class Command(BaseCommand):
    help = "Email new notifications to staff who asked for them (they may not be looking)."

    def handle(self, *args: Any, **options: Any) -> None:
        emailed = 0
        for state in DeskState.objects.filter(email_notifications=True).select_related(
            "staff", "staff__user"
        ):
            if state.staff.user.is_active:
                emailed += len(sync_notifications(state.staff))
        self.stdout.write(f"desk tick: {emailed} notifications emailed")
