"""The built-in surveys for flushed databases, and survey answers for `cherish demo`."""

from __future__ import annotations

import importlib

from django.apps import apps as django_apps


def seed_builtin_surveys() -> None:
    """(Re)create what migration 0002 seeds: the three surveys and the policy. Idempotent."""
    module = importlib.import_module("cherish.feedback.migrations.0002_seed_builtin_surveys")
    module.seed(django_apps, None)
