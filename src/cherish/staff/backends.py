"""Sign-in with a username and password: Django's ``ModelBackend``, with the signed-in user
read by a statement prepared once.

Every signed-in request loads its user (``get_user``); ``User.objects.get(pk=...)`` spent
most of its ~1 ms of CPU building a one-table SELECT (issue #14: the desk case page's cost per
request). Passwords, permissions and the active check are Django's own.

Sessions remember the backend's path: people signed in with Django's own ``ModelBackend``
before it was replaced here sign in once more.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import backends, get_user_model
from django.core.exceptions import ValidationError

from cherish.core.rows import RowSelect

_USER_BY_ID = RowSelect(get_user_model(), '"id" = %s')


class ModelBackend(backends.ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        try:
            key = get_user_model()._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        found = _USER_BY_ID.fetch([key])
        user = found[0] if found else None
        return user if self.user_can_authenticate(user) else None
