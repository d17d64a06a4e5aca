"""Mail fixtures for the core tests (defined once in tests/outbox/conftest.py)."""

from tests.outbox.conftest import mail_sink  # noqa: F401 - fixture for this directory
