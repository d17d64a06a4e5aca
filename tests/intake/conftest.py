"""Mail fixtures for the intake tests (defined once in tests/outbox/conftest.py)."""

from tests.outbox.conftest import (  # noqa: F401 - fixtures for this directory
    ack_only,
    inbound_smtp,
    mail_sink,
    tasks,
)
