from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_search_schema(using: str = "default", **kwargs: Any) -> None:
    # Full-text tables and triggers are database objects Django's migrations do not model;
    # building them right after migrate means the first search never pays for it.
    from cherish.cases.search import ensure_search_schema

    ensure_search_schema(using=using)


class CasesConfig(AppConfig):
    name = "cherish.cases"
    label = "cases"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_ensure_search_schema, sender=self, dispatch_uid="cases-search")
