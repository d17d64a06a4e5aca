from django.urls import path

from cherish.outreach import views

app_name = "outreach"

urlpatterns = [
    path("desk/customers/<int:pk>/", views.customer_detail, name="customer"),
    path("desk/customers/<int:pk>/status/", views.change_status, name="change-status"),
    path("desk/customers/<int:pk>/dates/", views.add_date, name="add-date"),
    path(
        "desk/customers/<int:pk>/dates/<int:date_id>/remove/",
        views.remove_date,
        name="remove-date",
    ),
    path("desk/customers/<int:pk>/export/", views.export, name="export"),
    path("desk/customers/<int:pk>/erase/", views.erase, name="erase"),
    path("desk/customers/<int:pk>/note/", views.send_note, name="send-note"),
    path("desk/customers/<int:pk>/reach-out/", views.reach_out, name="reach-out"),
    path("desk/customers/<int:pk>/win-back/", views.win_back, name="win-back"),
    path("desk/customers/<int:pk>/unmerge/<int:event_id>/", views.unmerge, name="unmerge"),
    path("desk/customers/duplicates/", views.duplicates, name="duplicates"),
    path("desk/customers/merge/", views.merge, name="merge"),
    path("desk/customers/duplicates/dismiss/", views.dismiss_duplicate, name="dismiss-duplicate"),
    path("desk/customers/leave-reasons/", views.leave_reasons, name="leave-reasons"),
    path("desk/moments/", views.moments, name="moments"),
    path("desk/radar/", views.radar, name="radar"),
    path("followup/<str:token>/", views.answer, name="answer"),
]
