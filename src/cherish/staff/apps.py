from typing import Any

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def _role_groups(sender: AppConfig, **kwargs: Any) -> None:
    from cherish.staff.roles import ensure_role_groups

    ensure_role_groups()


class StaffConfig(AppConfig):
    name = "cherish.staff"
    label = "staff"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The groups take permissions of every app, so they are built once, on the last app's
        # post_migrate (Django sends one per app with models, in INSTALLED_APPS order): by then
        # django.contrib.auth, connected before us, has created every app's permissions. This
        # used to run on staff's own signal and call create_permissions for all ~50 apps
        # itself; every transactional test's flush sends post_migrate (~120 tests a run), and
        # a flush with its post_migrate took 0.110 -> 0.083 s of CPU on SQLite (20 flushes,
        # 2026-12-02 04:55, load average 8.6-10).
        last = [config for config in apps.get_app_configs() if config.models_module][-1]
        post_migrate.connect(_role_groups, sender=last, dispatch_uid="cherish_role_groups")
