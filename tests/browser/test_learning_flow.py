"""From a complaint to a learning story to an improvement action to the public "You said,
we did" entry, in real Chromium; screenshots for the README."""

from __future__ import annotations

import pytest
from tests.browser.signing_in import sign_in
from tests.conftest import PASSWORD
from tests.learning.conftest import open_topics

from cherish.care import actions as care_actions
from cherish.learning import actions
from cherish.learning.models import (
    ActionNotice,
    CaseTheme,
    ImprovementAction,
    LearningStory,
    RootCause,
    StoryRead,
)
from cherish.staff.actions import create_staff
from cherish.staff.models import Role

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 900}


def test_complaint_to_story_to_action_to_public_page(
    browser, live_server, transactional_db, agent, care_team, docs_dir, settings
):
    # given clustered complaints, one resolved, and a manager (the flush removed the seeds)
    settings.SITE_URL = live_server.url
    topics = open_topics()
    RootCause.objects.get_or_create(name="Partner: a supplier or carrier", category="partner")
    actions.recluster_themes(k=3)
    case = topics["delivery"][0]
    care_actions.record_resolution(case, text="Re-sent by a second courier.", by=agent)
    manager = create_staff(
        username="mona",
        password=PASSWORD,
        display_name="Mona Manager",
        team=care_team,
        role=Role.MANAGER,
        email="mona@example.com",
    )
    theme = CaseTheme.objects.get(case=case).theme
    context, page = sign_in(browser, live_server, "mona", "/desk/learning/")
    expect(page.get_by_role("heading", name="What customers complain about")).to_be_visible()
    page.screenshot(path=str(docs_dir / "learning-themes.png"), full_page=True)

    # when the manager records why the complaint happened
    page.goto(f"{live_server.url}/desk/learning/cases/{case.reference}/finding/")
    expect(page.get_by_text(theme.name).first).to_be_visible()
    page.get_by_label("Root cause").select_option(label="Partner: a supplier or carrier")
    page.get_by_label("Where the problem leaked").select_option(label="Operations / delivery")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Root cause recorded.")).to_be_visible()

    # and writes a learning story from it, circulated to the care team
    page.get_by_role("link", name="Write a learning story from this case").click()
    page.get_by_label("We let a customer down").check()
    page.get_by_label("Title").fill("The parcel left in the rain")
    page.get_by_label("What happened").fill("The courier left the parcel outside, late, twice.")
    page.get_by_label("What we learned").fill("Our courier's promise is our promise.")
    page.get_by_label("What we changed").fill("A second courier for this area.")
    page.get_by_label("Show to new staff in their first weeks").check()
    page.get_by_role("button", name="Save the story").click()
    expect(page.get_by_role("heading", name="The parcel left in the rain")).to_be_visible()
    page.get_by_label("Customer Care").check()
    page.get_by_role("button", name="Circulate").click()
    expect(page.get_by_text("Circulated to 1 more team.")).to_be_visible()
    page.screenshot(path=str(docs_dir / "learning-story.png"), full_page=True)

    # and plans the improvement action from the theme, marks it done and publishes it
    page.goto(f"{live_server.url}/desk/learning/themes/{theme.pk}/")
    page.get_by_role("link", name="Plan an improvement action for this theme").click()
    form = page.locator("form", has=page.get_by_role("button", name="Plan"))
    form.get_by_label("Title").fill("A second courier for late areas")
    form.get_by_label("Status").select_option(label="Done")
    form.get_by_label("You said (public words)").fill("Your parcels came late and got wet.")
    form.get_by_label("We did (public words)").fill("We added a second courier <for> your area.")
    form.get_by_role("button", name="Plan").click()
    expect(page.get_by_text("Too early to tell")).to_be_visible()
    page.get_by_role("button", name="Publish and tell the customers").click()
    expect(page.locator(".flash-success")).to_contain_text("8 customers told.")
    page.screenshot(path=str(docs_dir / "learning-action.png"), full_page=True)

    # then the public page shows it to anyone, without JavaScript, with staff text escaped
    public = browser.new_context(viewport=DESKTOP, java_script_enabled=False).new_page()
    public.goto(f"{live_server.url}/you-said-we-did/")
    expect(public.get_by_text("Your parcels came late and got wet.")).to_be_visible()
    expect(public.get_by_text("We added a second courier <for> your area.")).to_be_visible()
    public.screenshot(path=str(docs_dir / "you-said-we-did.png"), full_page=True)
    story = LearningStory.objects.get()
    action = ImprovementAction.objects.get()
    assert (story.case, story.for_onboarding) == (case, True)
    assert StoryRead.objects.filter(story=story, staff=manager).exists()
    assert (action.theme, action.status, action.published_at is not None) == (theme, "done", True)
    assert ActionNotice.objects.filter(action=action).count() == 8
    context.close()
