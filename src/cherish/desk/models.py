"""What the desk keeps per staff member: notifications, read marks, presence, preferences.

None of these rows holds customer data of its own: a notification points at the case event
that caused it and is worded from that event when shown, so erasing a customer (which
anonymises their case events) leaves nothing behind here. See cherish.desk.actions for how
notifications are derived from case events.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy


class NotificationKind(models.TextChoices):
    CUSTOMER_REPLIED = "customer_replied", gettext_lazy("Customer replied")
    ASSIGNED = "assigned", gettext_lazy("Case assigned to you")
    HANDED_OVER = "handed_over", gettext_lazy("Case handed to you")
    ASKED_TO_HELP = "asked_to_help", gettext_lazy("Asked to help")
    MENTIONED = "mentioned", gettext_lazy("Mentioned")
    APPROVAL_WAITING = "approval_waiting", gettext_lazy("Approval waiting")
    GESTURE_DECIDED = "gesture_decided", gettext_lazy("Your gesture was decided")
    COMMITMENT_DUE = "commitment_due", gettext_lazy("Promise due soon")
    COMMITMENT_OVERDUE = "commitment_overdue", gettext_lazy("Promise overdue")
    TARGET_WARNING = "target_warning", gettext_lazy("Target about to breach")
    TARGET_BREACHED = "target_breached", gettext_lazy("Target breached")


class Notification(models.Model):
    """One case event that one staff member should know about; unread until they read it."""

    staff = models.ForeignKey(
        "staff.Staff", on_delete=models.CASCADE, related_name="desk_notifications"
    )
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey("cases.CaseEvent", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=24, choices=NotificationKind.choices)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    # Set once the notification went out by email (the staff member asked for that).
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # One event notifies a person once, however many polls derive it.
            models.UniqueConstraint(fields=["staff", "event"], name="desk_notification_once")
        ]
        indexes = [
            models.Index(fields=["staff", "read_at", "-id"], name="desk_notif_unread"),
            models.Index(fields=["staff", "case", "read_at"], name="desk_notif_case"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.staff_id} on {self.case_id}"


class DeskState(models.Model):
    """Per staff member: how far their notifications are derived, and how to reach them."""

    staff = models.OneToOneField(
        "staff.Staff", on_delete=models.CASCADE, primary_key=True, related_name="desk_state"
    )
    # Every case event with an id at or below this one has been looked at for this person.
    last_event_id = models.BigIntegerField(default=0)
    email_notifications = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"desk state of {self.staff_id}"


class CaseRead(models.Model):
    """When a staff member last had a case open: the inbox marks cases with news since."""

    staff = models.ForeignKey("staff.Staff", on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["staff", "case"], name="desk_case_read_once")
        ]

    def __str__(self) -> str:
        return f"{self.case_id} read by {self.staff_id}"


class Activity(models.TextChoices):
    VIEWING = "viewing", gettext_lazy("viewing")
    REPLYING = "replying", gettext_lazy("replying")


class Presence(models.Model):
    """Who has a case page open, kept alive by the page's heartbeat.

    A row in the database rather than process memory, so every web process sees every
    viewer; a row whose heartbeat stopped (PRESENCE_TIMEOUT) no longer counts.
    """

    staff = models.ForeignKey("staff.Staff", on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    activity = models.CharField(max_length=8, choices=Activity.choices, default=Activity.VIEWING)
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["staff", "case"], name="desk_presence_once")]
        indexes = [models.Index(fields=["case", "seen_at"], name="desk_presence_case")]

    def __str__(self) -> str:
        return f"{self.staff_id} {self.activity} {self.case_id}"


class SavedView(models.Model):
    """An agent's named inbox view: a built-in view plus filters and a sort, as query
    parameters (``InboxFilters.saved_params``; never search words, so no customer data)."""

    staff = models.ForeignKey("staff.Staff", on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=60)
    params = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["staff", "name"], name="saved_view_staff_name")
        ]

    def __str__(self) -> str:
        return self.name
