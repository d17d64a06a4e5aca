"""The customer's own case page: the emailed link, then the page itself (see portal.py)."""

from django.urls import path

from cherish.intake import portal

app_name = "portal"  # the customer-facing pages of the intake app

urlpatterns = [
    path("c/<str:token>/", portal.open_link, name="open"),
    path("your-case/<str:reference>/", portal.case_page, name="case"),
    path("your-case/<str:reference>/reply/", portal.reply, name="reply"),
    path("your-case/<str:reference>/solved/", portal.solved, name="solved"),
    path("your-case/<str:reference>/new-link/", portal.new_link, name="new-link"),
    path("your-case/<str:reference>/files/<str:public_id>/", portal.download, name="download"),
]
