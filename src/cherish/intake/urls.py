from django.urls import path  # noqa: F401

from cherish.intake.staff_urls import staff_urlpatterns

app_name = "intake"

# Public pages (the complaint form) first, then the staff pages of the channels.
urlpatterns: list = [*staff_urlpatterns]
