from django.apps import AppConfig


class LearningConfig(AppConfig):
    name = "cherish.learning"
    label = "learning"
    verbose_name = "Learning from complaints"
    default_auto_field = "django.db.models.BigAutoField"
