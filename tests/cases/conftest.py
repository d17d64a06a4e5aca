"""Mail fixtures for the case tests (defined once in tests/outbox/conftest.py)."""

from tests.outbox.conftest import mail_sink, tasks  # noqa: F401 - fixtures for this directory
