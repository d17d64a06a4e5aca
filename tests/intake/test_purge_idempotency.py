from __future__ import annotations

import datetime as dt

import time_machine
from django.core.management import call_command

from cherish.intake.apikeys import create_api_key
from cherish.intake.models import IdempotencyKey
from cherish.staff.principal import KeyScope


def test_old_idempotency_keys_are_purged_recent_ones_kept(db):
    key, _ = create_api_key("shop", scopes=list(KeyScope))
    with time_machine.travel(dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)):
        IdempotencyKey.objects.create(api_key=key, key="old", request_hash="x")
    with time_machine.travel(dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)):
        IdempotencyKey.objects.create(api_key=key, key="recent", request_hash="y")
        call_command("purge_idempotency_keys", verbosity=0)
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["recent"]
