"""Django's database sessions, read with a statement prepared once.

Every signed-in request reads its session first; ``Session.objects.get(...)`` spent most of
its ~1 ms of CPU building a one-table SELECT (issue #14: the desk case page's cost per
request). The rows, their expiry and everything written are Django's own
(``django.contrib.sessions.backends.db``): only the read differs.
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from cherish.core.rows import RowSelect

_LIVE_SESSION = RowSelect(Session, '"session_key" = %s AND "expire_date" > %s')


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self) -> Any:
        if self.session_key is not None:
            at = transaction.get_connection().ops.adapt_datetimefield_value(timezone.now())
            found = _LIVE_SESSION.fetch([self.session_key, at])
            if found:
                return found[0]
        # As Django's: a missing or expired session gets a new key when saved.
        self._session_key = None
        return None
