from django.urls import path

from cherish.cases import views

# Mounted by the root URLconf under the ``cases`` namespace, together with the case page's
# routes from ``cherish.desk.urls``.
app_name = "cases"

urlpatterns = [
    path("desk/attachments/<str:public_id>/", views.attachment, name="attachment"),
]
