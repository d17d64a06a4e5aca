from django.urls import path

from cherish.outbox import views

app_name = "outbox"

urlpatterns = [
    path("desk/outbox/", views.task_list, name="tasks"),
    path("desk/outbox/email/<int:pk>/retry/", views.retry_email, name="retry-email"),
    path("desk/outbox/webhook/<int:pk>/retry/", views.retry_webhook, name="retry-webhook"),
]
