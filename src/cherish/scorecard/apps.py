from django.apps import AppConfig


class ScorecardConfig(AppConfig):
    name = "cherish.scorecard"
    label = "scorecard"
    verbose_name = "Scorecard"
    default_auto_field = "django.db.models.BigAutoField"
