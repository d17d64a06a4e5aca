from django.apps import AppConfig


class DeskConfig(AppConfig):
    """The staff web shell on top of every domain app (ARCHITECTURE.md): the one desk guard
    and typed request, and the pages composed from each app's queries and panels."""

    name = "cherish.desk"
    label = "desk"
    default_auto_field = "django.db.models.BigAutoField"
