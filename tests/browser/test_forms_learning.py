"""Every form of the learning pages, submitted in real Chromium by clicking its own button:
shaping themes (split, rename, merge, find again), the policy register, tagging a complaint
with a policy, linking a complaint to an improvement action and taking it off the public
page."""

from __future__ import annotations

import re

import pytest
from tests.browser.signing_in import sign_in
from tests.learning.conftest import open_topics

from cherish.learning import actions
from cherish.learning.models import (
    ActionNotice,
    CaseTheme,
    ImprovementAction,
    Policy,
    PolicyLink,
    Theme,
    ThemeModel,
)

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser


def test_manager_splits_renames_merges_and_finds_themes_again(
    browser, live_server, transactional_db, agent, manager
):
    # given: 24 complaints about three things, clustered into three themes
    topics = open_topics()
    actions.recluster_themes(k=3)
    delivery = CaseTheme.objects.get(case=topics["delivery"][0]).theme
    assert delivery.case_count == 8
    context, page = sign_in(browser, live_server, "mia", f"/desk/learning/themes/{delivery.pk}/")
    expect(page.get_by_role("heading", name=delivery.name, level=1)).to_be_visible()

    # when: the manager splits the delivery theme in two
    page.get_by_role("button", name="Split in two").click()
    expect(page.locator(".flash-success")).to_contain_text("Rename them.")
    first, second = Theme.objects.filter(split_from=delivery).order_by("pk")
    page.wait_for_url(re.compile(rf"/desk/learning/themes/{first.pk}/$"))
    # then: the old theme is split and the two pinned halves share its eight complaints
    delivery.refresh_from_db()
    assert (delivery.status, delivery.case_count) == ("split", 0)
    assert (first.pinned, second.pinned) == (True, True)
    assert first.case_count + second.case_count == 8
    expect(page.locator(".flash-success")).to_have_text(
        f"Split into “{first.name}” and “{second.name}”. Rename them."
    )

    # when: the manager gives the first half a name of their own
    page.get_by_label("Name", exact=True).fill("Late or lost parcels")
    page.get_by_label("What this theme is about").fill("Couriers late, parcels lost or thrown.")
    page.get_by_role("button", name="Rename").click()
    # then
    expect(page.locator(".flash-success")).to_have_text(
        "Theme renamed. Re-clustering will keep this name."
    )
    expect(page.get_by_role("heading", name="Late or lost parcels", level=1)).to_be_visible()
    expect(page.locator("p", has_text="Couriers late, parcels lost or thrown.")).to_be_visible()
    first.refresh_from_db()
    assert (first.name, first.description, first.name_set_by_staff) == (
        "Late or lost parcels",
        "Couriers late, parcels lost or thrown.",
        True,
    )

    # when: from the theme list the manager opens the other half and merges it back in
    page.get_by_role("link", name="Themes", exact=True).click()
    page.get_by_role("link", name=second.name, exact=True).first.click()
    page.wait_for_url(re.compile(rf"/desk/learning/themes/{second.pk}/$"))
    page.get_by_label("Merge into").select_option(label="Late or lost parcels")
    page.get_by_role("button", name="Merge", exact=True).click()
    # then: the page of the theme merged into, which now holds all eight complaints
    expect(page.locator(".flash-success")).to_have_text("Merged into “Late or lost parcels”.")
    page.wait_for_url(re.compile(rf"/desk/learning/themes/{first.pk}/$"))
    expect(page.get_by_text("8 complaints.")).to_be_visible()
    second.refresh_from_db()
    first.refresh_from_db()
    assert (second.status, second.merged_into_id, second.case_count) == ("merged", first.pk, 0)
    assert first.case_count == 8
    assert CaseTheme.objects.filter(theme=first).count() == 8

    # when: the manager finds the themes again from the themes page
    page.get_by_role("link", name="Themes", exact=True).click()
    page.get_by_role("button", name="Find themes again").click()
    # then: a new model over the 24 complaints, and the staff's theme kept its name
    expect(page.locator(".flash-success")).to_contain_text("Themes found again in 24 complaints:")
    assert ThemeModel.objects.count() == 2
    first.refresh_from_db()
    assert (first.status, first.name, first.pinned) == ("active", "Late or lost parcels", True)
    row = page.locator("tr", has=page.get_by_role("link", name="Late or lost parcels")).last
    expect(row).to_contain_text("named by staff")
    context.close()


def test_manager_registers_a_policy_tags_a_complaint_and_unpublishes_an_action(
    browser, live_server, transactional_db, manager, complaint, settings
):
    # given: a complaint from Carla, and a manager on the empty policy register
    settings.SITE_URL = live_server.url
    context, page = sign_in(browser, live_server, "mia", "/desk/learning/policies/")
    expect(page.get_by_text("The register is empty.")).to_be_visible()

    # when: the manager adds a policy to the register
    page.get_by_label("Title").fill("Restocking fee on returns")
    page.get_by_label("What the policy says").fill("Opened goods returned pay a 15% fee.")
    page.get_by_label("Owner").select_option(label="Mia Manager")
    page.get_by_label("Review by").fill("2027-03-31")
    page.get_by_label("Phrases that tie a reply to it").fill("restocking fee, opened goods")
    page.get_by_role("button", name="Add", exact=True).click()
    # then: the policy's own page
    expect(page.locator(".flash-success")).to_have_text("Policy added to the register.")
    expect(page.get_by_role("heading", name="Restocking fee on returns")).to_be_visible()
    expect(page.get_by_text("Review by: 31 Mar 2027.")).to_be_visible()
    policy = Policy.objects.get()
    page.wait_for_url(re.compile(rf"/desk/learning/policies/{policy.pk}/$"))
    assert (policy.summary, policy.owner, str(policy.review_by), policy.is_active) == (
        "Opened goods returned pay a 15% fee.",
        manager,
        "2027-03-31",
        True,
    )
    assert policy.phrase_list == ["restocking fee", "opened goods"]

    # when: on the complaint's root-cause page the manager ties it to the policy
    page.goto(f"{live_server.url}/desk/learning/cases/{complaint.reference}/finding/")
    page.get_by_label("Policy this complaint is about").select_option(
        label="Restocking fee on returns"
    )
    page.get_by_role("button", name="Link", exact=True).click()
    # then
    expect(page.locator(".flash-success")).to_have_text("Complaint linked to the policy.")
    policies = page.locator("section", has=page.get_by_role("heading", name="Policies this"))
    expect(policies.get_by_role("listitem")).to_have_text(
        "Restocking fee on returns (tagged by staff)"
    )
    link = PolicyLink.objects.get()
    assert (link.case, link.policy, link.source, link.linked_by) == (
        complaint,
        policy,
        "tagged",
        manager,
    )
    # and the policy's page counts the complaint
    policies.get_by_role("link", name="Restocking fee on returns").click()
    expect(page.get_by_role("row", name=complaint.reference)).to_contain_text("Tagged by staff")

    # given: an improvement action planned from the policy, done, with its public words
    page.get_by_role("link", name="Plan an improvement action for this policy").click()
    form = page.locator("form", has=page.get_by_role("button", name="Plan"))
    form.get_by_label("Title").fill("No restocking fee on faulty goods")
    form.get_by_label("Status").select_option(label="Done")
    form.get_by_label("You said (public words)").fill("You paid a fee to return faulty goods.")
    form.get_by_label("We did (public words)").fill("Faulty goods now come back for free.")
    form.get_by_role("button", name="Plan").click()
    expect(page.locator(".flash-success")).to_have_text("Improvement action planned.")
    action = ImprovementAction.objects.get()
    assert action.policy == policy

    # when: the manager links a complaint by a reference that does not exist, then the real one
    page.get_by_label("Case reference").fill("ZZ-999999")
    page.get_by_role("button", name="Link", exact=True).click()
    expect(page.locator(".flash-error")).to_have_text("There is no case with that reference.")
    assert not action.cases.exists()
    page.get_by_label("Case reference").fill(complaint.reference)
    page.get_by_role("button", name="Link", exact=True).click()
    # then
    expect(page.locator(".flash-success")).to_have_text(f"{complaint.reference} linked.")
    led_to_it = page.locator("section", has=page.get_by_role("heading", name="Complaints that"))
    expect(led_to_it.get_by_role("link", name=complaint.reference)).to_be_visible()
    assert list(action.cases.all()) == [complaint]

    # when: published (Carla, whose complaint is linked, is told) ...
    page.get_by_role("button", name="Publish and tell the customers").click()
    expect(page.locator(".flash-success")).to_contain_text("1 customer told.")
    action.refresh_from_db()
    assert action.published_at is not None
    # ... and then taken off the public page again
    page.get_by_role("button", name="Take off the public page").click()
    # then
    expect(page.locator(".flash-success")).to_have_text("Taken off the public page.")
    expect(page.get_by_role("button", name="Publish and tell the customers")).to_be_visible()
    action.refresh_from_db()
    assert (action.published_at, action.published_by) == (None, None)
    assert ActionNotice.objects.filter(action=action).count() == 1  # a sent email stays sent
    public = browser.new_context().new_page()
    public.goto(f"{live_server.url}/you-said-we-did/")
    expect(public.get_by_text("Nothing is listed yet.")).to_be_visible()
    expect(public.get_by_text("Faulty goods now come back for free.")).to_have_count(0)
    context.close()
