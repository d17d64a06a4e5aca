from django.urls import path

from cherish.cases import views

app_name = "cases"

urlpatterns = [
    path("desk/", views.inbox, name="inbox"),
    path("desk/cases/<str:reference>/", views.case_detail, name="detail"),
    path("desk/cases/<str:reference>/reply/", views.reply, name="reply"),
    path("desk/cases/<str:reference>/note/", views.note, name="note"),
    path("desk/cases/<str:reference>/update/", views.update, name="update"),
    path("desk/cases/<str:reference>/reassign/", views.reassign, name="reassign"),
    path("desk/attachments/<str:public_id>/", views.attachment, name="attachment"),
]
