from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "cherish.feedback"
    label = "feedback"
    verbose_name = "Feedback and surveys"
    default_auto_field = "django.db.models.BigAutoField"
