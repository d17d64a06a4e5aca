from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from cherish.staff.models import Staff


def staff_for_user(user: AbstractBaseUser | AnonymousUser) -> Staff | None:
    """The staff profile of a logged-in, active user; None for anyone else."""
    if not user.is_authenticated or not user.is_active:
        return None
    try:
        staff: Staff = user.staff  # type: ignore[attr-defined]
        return staff
    except Staff.DoesNotExist:
        return None
