"""The demo shows learning with data: themes, the register, actions, stories, recognition."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command
from django.test import Client

from cherish.learning.models import (
    ImprovementAction,
    LearningStory,
    Policy,
    Theme,
    ThemeStatus,
)
from cherish.staff.models import Recognition


def test_the_demo_fills_every_learning_page(transactional_db):
    # when
    call_command("demo", "--customers", "60", "--cases", "150", stdout=StringIO())
    # then each learning list has rows, and the pages show them
    named = Theme.objects.filter(status=ThemeStatus.ACTIVE, name_set_by_staff=True).get()
    counts = [
        Theme.objects.filter(status=ThemeStatus.ACTIVE).count() > 1,
        Policy.objects.exists(),
        ImprovementAction.objects.filter(status="done").exists(),
        ImprovementAction.objects.filter(published_at__isnull=False).exists(),
        LearningStory.objects.exists(),
        Recognition.objects.exists(),
    ]
    assert counts == [True] * 6
    client = Client()
    assert client.login(username="agent", password="cherish-agent")
    assert named.name in client.get("/desk/learning/").content.decode()
    story = LearningStory.objects.order_by("pk").first()
    assert story.title in client.get("/desk/learning/stories/").content.decode()
    policy = Policy.objects.order_by("title").first()
    assert policy.title in client.get("/desk/learning/policies/").content.decode()
    recognition = Recognition.objects.order_by("-pk").first()
    assert recognition.staff.display_name in client.get("/desk/people/").content.decode()
    published = ImprovementAction.objects.filter(published_at__isnull=False).first()
    assert published.we_did in Client().get("/you-said-we-did/").content.decode()
