from typing import Any

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def _role_groups(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    from django.contrib.auth.management import create_permissions

    from cherish.staff.roles import ensure_role_groups

    # The groups take permissions of apps migrated after staff; make sure they all exist.
    for config in apps.get_app_configs():
        create_permissions(config, verbosity=0, using=using)
    ensure_role_groups()


class StaffConfig(AppConfig):
    name = "cherish.staff"
    label = "staff"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_role_groups, sender=self, dispatch_uid="cherish_role_groups")
