"""Staff pages of the channels, included by intake/urls.py under the ``intake`` namespace."""

from django.urls import path

from cherish.intake import views_staff

staff_urlpatterns: list = [
    path("desk/unreadable/", views_staff.unreadable, name="unreadable"),
    path("desk/unreadable/<int:pk>/raw/", views_staff.raw_download, name="raw-download"),
    path("desk/unreadable/<int:pk>/retry/", views_staff.raw_retry, name="raw-retry"),
    path("desk/log-contact/", views_staff.log_contact, name="log-contact"),
]
