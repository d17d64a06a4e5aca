from django.urls import path

from cherish.customers import views

app_name = "customers"

urlpatterns = [
    path("desk/customers/", views.customer_list, name="list"),
]
