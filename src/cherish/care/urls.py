from django.urls import path

from cherish.care import views

app_name = "care"

case = "desk/care/cases/<str:reference>/"

urlpatterns = [
    path("desk/care/", views.due, name="due"),
    path("desk/care/tone-check", views.tone_check, name="tone-check"),
    path(
        "desk/care/gestures/<int:gesture_id>/approve",
        views.approve_gesture,
        name="approve-gesture",
    ),
    path(
        "desk/care/gestures/<int:gesture_id>/decline",
        views.decline_gesture,
        name="decline-gesture",
    ),
    path(case, views.case_care, name="case"),
    path(case + "stage", views.advance_stage, name="advance-stage"),
    path(case + "wait", views.wait, name="wait"),
    path(case + "resume", views.resume, name="resume"),
    path(case + "fair-outcome", views.fair_outcome, name="fair-outcome"),
    path(case + "resolution", views.resolution, name="resolution"),
    path(case + "plus-one", views.plus_one, name="plus-one"),
    path(case + "follow-up", views.follow_up, name="follow-up"),
    path(case + "assessment", views.assessment, name="assessment"),
    path(case + "commitments", views.commitment, name="commitment"),
    path(
        case + "commitments/<int:commitment_id>/keep",
        views.keep_commitment,
        name="keep-commitment",
    ),
    path(
        case + "commitments/<int:commitment_id>/break",
        views.break_commitment,
        name="break-commitment",
    ),
    path(case + "gestures", views.gesture, name="gesture"),
    path(case + "handoff", views.handoff, name="handoff"),
    path(case + "collaborators", views.collaborator, name="collaborator"),
    path(case + "links", views.link, name="link"),
    path(case + "merge", views.merge, name="merge"),
    path(case + "escalations", views.escalation, name="escalation"),
    path(case + "notes", views.note, name="note"),
]
