from django.urls import path

from cherish.staff import twofactor, views

app_name = "staff"

urlpatterns = [
    path("account/two-factor/", twofactor.two_factor, name="two_factor"),
    path("desk/people/", views.wall, name="wall"),
    path("desk/people/thanks/", views.thank, name="thank"),
    path("desk/people/nominations/", views.nominations, name="nominations"),
    path("desk/people/pulse/", views.pulses, name="pulses"),
    path("desk/people/pulse/<int:survey_id>/", views.pulse, name="pulse"),
    path("desk/people/pulse/<int:survey_id>/plans/", views.pulse_plan, name="pulse-plan"),
    path("desk/people/pulse/<int:survey_id>/close/", views.pulse_close, name="pulse-close"),
    path("desk/people/creed/", views.creed, name="creed"),
    path("desk/audit/", views.audit_log, name="audit-log"),
]
