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
    path("desk/learning/cases/<str:reference>/policy/", views.case_policy, name="case-policy"),
    path("desk/learning/reveal/", views.reveal, name="reveal"),
    path("desk/learning/policies/", views.policies, name="policies"),
    path("desk/learning/policies/new/", views.policy_new, name="policy-new"),
    path("desk/learning/policies/<int:policy_id>/", views.policy_detail, name="policy"),
    path("desk/learning/actions/", views.improvement_actions, name="actions"),
    path("desk/learning/actions/new/", views.action_new, name="action-new"),
    path("desk/learning/actions/<int:action_id>/", views.action_detail, name="action"),
    path(
        "desk/learning/actions/<int:action_id>/cases/",
        views.action_link_case,
        name="action-link-case",
    ),
    path(
        "desk/learning/actions/<int:action_id>/publish/",
        views.action_publish,
        name="action-publish",
    ),
    path(
        "desk/learning/actions/<int:action_id>/unpublish/",
        views.action_unpublish,
        name="action-unpublish",
    ),
    path("desk/learning/stories/", views.stories, name="stories"),
    path("desk/learning/stories/new/", views.story_new, name="story-new"),
    path("desk/learning/stories/<int:story_id>/", views.story_detail, name="story"),
    path(
        "desk/learning/stories/<int:story_id>/circulate/",
        views.story_circulate,
        name="story-circulate",
    ),
    path("desk/learning/weekly/", views.weekly, name="weekly"),
    path("you-said-we-did/", views.you_said_we_did, name="you-said-we-did"),
]
