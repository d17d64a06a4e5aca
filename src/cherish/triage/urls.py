from django.urls import path

from cherish.triage import views

app_name = "triage"

urlpatterns = [
    path("desk/cases/<str:reference>/triage/", views.correct, name="correct"),
    path("desk/cases/<str:reference>/triage/flags/add/", views.add_flag, name="add-flag"),
    path("desk/cases/<str:reference>/triage/flags/clear/", views.clear_flag, name="clear-flag"),
]
