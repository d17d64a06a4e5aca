from django.urls import path

from cherish.intake import views
from cherish.intake.staff_urls import staff_urlpatterns

app_name = "intake"

# Public pages (the complaint form) first, then the staff pages of the channels.
urlpatterns: list = [
    path("complain/", views.complain, name="complain"),
    path("complain/thanks/<str:token>/", views.thanks, name="thanks"),
    *staff_urlpatterns,
]
