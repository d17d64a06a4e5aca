from django.urls import path

from cherish.feedback import views

app_name = "feedback"

urlpatterns = [
    path("s/<str:token>/", views.survey, name="survey"),
    path("s/<str:token>/a/<int:value>/", views.click, name="click"),
    path("s/<str:token>/opt-out/", views.opt_out, name="opt-out"),
    path("rate/<str:token>/", views.rate, name="rate"),
    path("desk/surveys/", views.surveys, name="surveys"),
    path("desk/surveys/targets/", views.set_target, name="set-target"),
]
