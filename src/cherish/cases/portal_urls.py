"""The customer's own case page, reached by a signed link (no login)."""

from django.urls import path  # noqa: F401

app_name = "portal"

urlpatterns: list = []
