from django.urls import path

from cherish.scorecard import views

app_name = "scorecard"

urlpatterns = [
    path("desk/scorecard/", views.index, name="index"),
    path("desk/scorecard/cases/", views.cases, name="cases"),
    path("desk/scorecard/people/", views.people, name="people"),
]
