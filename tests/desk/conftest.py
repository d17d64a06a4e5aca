"""The care fixtures (gesture types, authority limits) for the desk's cross-app tests."""

from tests.care.conftest import agent_limits, care_defaults, refund  # noqa: F401
