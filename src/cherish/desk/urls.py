"""The desk's routes.

``urlpatterns`` are the desk's own pages (namespace ``desk``). ``case_page_routes`` are the
case page and its actions: served here, they keep the ``cases:`` names (``cases:detail`` …)
that every app's templates and redirects reverse, so the root URLconf mounts them together
with ``cherish.cases.urls`` under that namespace.
"""

from django.urls import URLPattern, path

from cherish.desk import views, views_inbox, views_live, views_macros

app_name = "desk"

urlpatterns: list[URLPattern] = [
    path("desk/", views_inbox.inbox, name="inbox"),
    path("desk/inbox/bulk/", views_inbox.bulk, name="inbox-bulk"),
    path("desk/inbox/take/<str:reference>/", views_inbox.take, name="take"),
    path("desk/inbox/views/", views_inbox.save_view, name="save-view"),
    path("desk/inbox/views/<int:view_id>/delete/", views_inbox.delete_view, name="delete-view"),
    path("desk/cases/<str:reference>/macro/", views_macros.macro_reply, name="macro-reply"),
    path("desk/notifications/", views_live.notifications, name="notifications"),
    path("desk/notifications/read/", views_live.read_notifications, name="read-notifications"),
    path("desk/notifications/email/", views_live.notification_email, name="notification-email"),
    path("desk/notifications/badge/", views_live.badge, name="notification-badge"),
    path("desk/cases/<str:reference>/presence/", views_live.presence, name="presence"),
    path("desk/inbox/news/", views_live.inbox_news, name="inbox-news"),
]

case_page_routes = [
    path("desk/cases/<str:reference>/", views.case_detail, name="detail"),
    path("desk/cases/<str:reference>/reply/", views.reply, name="reply"),
    path("desk/cases/<str:reference>/note/", views.note, name="note"),
    path("desk/cases/<str:reference>/update/", views.update, name="update"),
    path("desk/cases/<str:reference>/reassign/", views.reassign, name="reassign"),
    path("desk/cases/<str:reference>/timeline/", views.timeline, name="timeline"),
    path("desk/cases/<str:reference>/handover/", views.handover, name="handover"),
    path("desk/cases/<str:reference>/macros/", views.macros, name="macros"),
]
