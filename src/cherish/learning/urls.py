from django.urls import path

from cherish.learning import views

app_name = "learning"

urlpatterns = [
    path("desk/learning/", views.index, name="index"),
    path("desk/learning/recluster/", views.recluster, name="recluster"),
    path("desk/learning/themes/<int:theme_id>/", views.theme_detail, name="theme"),
    path("desk/learning/themes/<int:theme_id>/rename/", views.rename_theme, name="theme-rename"),
    path("desk/learning/themes/<int:theme_id>/merge/", views.merge_theme, name="theme-merge"),
    path("desk/learning/themes/<int:theme_id>/split/", views.split_theme, name="theme-split"),
    path(
        "desk/learning/cases/<str:reference>/finding/",
        views.case_finding,
        name="case-finding",
    ),
]
