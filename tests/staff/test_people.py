"""Recognition wall, peer thanks, monthly nominations with evidence, the creed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cherish.core.errors import CherishError
from cherish.staff import actions
from cherish.staff.models import AuditEntry, Creed, Nomination, Recognition
from tests.conftest import login


def test_peer_thanks_appear_on_the_wall(client, agent, other_agent):
    login(client, agent)
    response = client.post(
        reverse("staff:thank"), {"staff": other_agent.pk, "message": "Covered my <b>calls</b>"}
    )
    assert response.status_code == 302
    [thanks] = Recognition.objects.all()
    assert (thanks.staff, thanks.from_staff, thanks.kind) == (other_agent, agent, "peer")
    body = client.get(reverse("staff:wall")).content.decode()
    assert "Covered my &lt;b&gt;calls&lt;/b&gt;" in body


def test_no_thanking_yourself(agent):
    with pytest.raises(CherishError) as error:
        actions.thank_colleague(agent, message="Me", by=agent)
    assert error.value.code == "thanks_self"
    assert not Recognition.objects.exists()


def test_wall_is_alphabetical_not_a_ranking(client, agent, other_agent, lead):
    for _ in range(3):
        actions.recognise(other_agent, kind="compliment", case_reference="CH-AAAAAA")
    actions.recognise(agent, kind="commitment_kept")
    login(client, lead)
    body = client.get(reverse("staff:wall")).content.decode()
    assert body.index("Alice Agent") < body.index("Bob Other")


def test_recognise_with_a_source_key_counts_once(agent):
    first = actions.recognise(agent, kind="compliment", source_key="event:1")
    again = actions.recognise(agent, kind="compliment", source_key="event:1")
    assert (first is not None, again) == (True, None)
    assert Recognition.objects.count() == 1


def test_nomination_attaches_this_months_evidence(client, agent, other_agent):
    actions.recognise(
        other_agent, kind="compliment", message="Bob was wonderful", case_reference="CH-BBBBBB"
    )
    login(client, agent)
    response = client.post(
        reverse("staff:nominations"), {"nominee": other_agent.pk, "reason": "Always kind."}
    )
    assert response.status_code == 302
    nomination = Nomination.objects.get()
    assert [(e["kind"], e["case_reference"]) for e in nomination.evidence] == [
        ("compliment", "CH-BBBBBB")
    ]
    twice = client.post(
        reverse("staff:nominations"), {"nominee": other_agent.pk, "reason": "Again"}
    )
    assert twice.status_code == 400
    assert Nomination.objects.count() == 1
    page = client.get(reverse("staff:nominations")).content.decode()
    assert "Bob was wonderful" in page


def test_creed_seeded_editable_by_managers_shown_to_staff_and_customers(client, agent, admin_staff):
    assert "We listen first" in Creed.objects.get().text
    login(client, agent)
    refused = client.post(reverse("staff:creed"), {"text": "Agents' creed"})
    assert refused.status_code == 403
    login(client, admin_staff)
    client.post(reverse("staff:creed"), {"text": "We care.\n<script>x</script>"})
    login(client, agent)
    inbox = client.get(reverse("desk:inbox")).content.decode()
    assert "We care.<br>&lt;script&gt;x&lt;/script&gt;" in inbox
    client.logout()
    public = client.get(reverse("intake:complain")).content.decode()
    assert "We care.<br>&lt;script&gt;x&lt;/script&gt;" in public


def test_the_built_in_creed_speaks_each_public_page_language(client, db):
    # given the creed a new installation starts with
    assert "We listen first" in Creed.objects.get().text
    # when a German, a Dutch and an English visitor open the complaint page
    german = client.get(reverse("intake:complain"), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    dutch = client.get(reverse("intake:complain"), HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    english = client.get(reverse("intake:complain"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # then each reads it, and its heading, in their own language
    assert "Unser Versprechen an unsere Kundinnen und Kunden" in german
    assert "Wir hören zuerst zu, und wir glauben Ihnen." in german
    assert "We listen first" not in german
    assert "We luisteren eerst, en we geloven u." in dutch
    assert "Our promise to customers" in english
    assert "We listen first, and we believe you." in english


def test_a_creed_of_our_own_shows_its_own_translation_else_its_own_words(
    client, agent, admin_staff
):
    # given a manager who writes the organisation's own creed, with a German version, and a
    # version in a language the pages do not speak
    login(client, admin_staff)
    saved = client.post(
        reverse("staff:creed"),
        {
            "text": "We answer within a day.",
            "text_de": "Wir antworten innerhalb eines Tages.",
            "text_fr": "   ",
            "text_xx": "ignored",
        },
    )
    assert saved.status_code == 302
    creed = Creed.objects.get()
    assert (creed.text, creed.translations) == (
        "We answer within a day.",
        {"de": "Wir antworten innerhalb eines Tages."},
    )
    [entry] = AuditEntry.objects.filter(action="setting.changed", target_type="creed")
    assert (entry.actor, entry.detail) == (admin_staff, {"languages": ["de"]})
    client.logout()
    # when German and French visitors open the complaint page
    german = client.get(reverse("intake:complain"), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    french = client.get(reverse("intake:complain"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    # then the German one reads the German version; the French one, with none written, the
    # organisation's own words (not the built-in creed's translation: it is not that creed)
    assert "Wir antworten innerhalb eines Tages." in german
    assert "We answer within a day." in french
    assert "Nous écoutons" not in french
    # and the manager's form shows each version where it was written
    login(client, admin_staff)
    page = client.get(reverse("staff:creed")).content.decode()
    assert ">\nWe answer within a day.</textarea>" in page
    assert ">\nWir antworten innerhalb eines Tages.</textarea>" in page
    # an agent may read the form's page but not change a version
    login(client, agent)
    refused = client.post(reverse("staff:creed"), {"text": "x", "text_de": "y"})
    assert refused.status_code == 403
    assert Creed.objects.get().translations == {"de": "Wir antworten innerhalb eines Tages."}
