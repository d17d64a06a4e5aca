"""The customer's own case page, reached by a signed link (no login)."""

from django.urls import path

from cherish.intake import portal

app_name = "portal"  # the customer-facing pages of the intake app

urlpatterns = [
    path("c/<str:token>/", portal.case_page, name="case"),
    path("c/<str:token>/reply/", portal.reply, name="reply"),
    path("c/<str:token>/solved/", portal.solved, name="solved"),
    path("c/<str:token>/files/<str:public_id>/", portal.download, name="download"),
]
