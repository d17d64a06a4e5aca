from django.urls import path

from cherish.staff import twofactor

app_name = "staff"

urlpatterns = [
    path("account/two-factor/", twofactor.two_factor, name="two_factor"),
]
