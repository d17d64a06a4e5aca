from django.urls import path

from cherish.triage import views

app_name = "triage"

urlpatterns = [
    path("desk/cases/<str:reference>/triage/", views.correct, name="correct"),
]
