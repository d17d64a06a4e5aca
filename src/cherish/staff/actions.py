"""Changes to staff and teams."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from cherish.staff.models import Role, Staff, Team


@transaction.atomic
def create_staff(
    *,
    username: str,
    password: str,
    display_name: str,
    email: str = "",
    team: Team | None = None,
    role: str = Role.AGENT,
    is_superuser: bool = False,
) -> Staff:
    """Create a login and its staff profile together."""
    user_model = get_user_model()
    user = user_model.objects.create_user(
        username=username, password=password, email=email
    )
    if is_superuser:
        user.is_staff = True
        user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    return Staff.objects.create(user=user, display_name=display_name, team=team, role=role)
