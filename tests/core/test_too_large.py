"""A post too large for Django to read gets its form back with a sentence, not a bare 400.

Posted as a browser posts (the CSRF check enforced, so the refusal happens where it does in
production: while the CSRF middleware reads the form, before any view)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from cherish.cases.models import Case, Message
from cherish.cases.outgoing import portal_url
from cherish.intake.models import RawContact

TOO_MANY_FIELDS = "had more parts than this form has"
TOO_LARGE = "What you sent was too large for us to read (more than 30 MB of text)"


def _many_fields(n: int = 1001) -> dict[str, str]:
    return {"text": "The parcel arrived broken.", **{f"f{i}": "x" for i in range(n)}}


@pytest.fixture
def browser_client(db: Any) -> Client:
    """A client that checks CSRF like a browser and has the CSRF cookie of a first visit."""
    client = Client(enforce_csrf_checks=True)
    assert client.get("/complain/").status_code == 200
    return client


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_a_complaint_with_a_thousand_fields_shows_the_form_again(
    browser_client: Client, db: Any, encoding: str
) -> None:
    # when
    if encoding == "multipart":
        response = browser_client.post("/complain/", _many_fields())
    else:
        body = "&".join(f"{k}={v}" for k, v in _many_fields().items())
        response = browser_client.post(
            "/complain/", body, content_type="application/x-www-form-urlencoded"
        )
    # then: the complaint form, with the reason, and nothing stored
    page = response.content.decode()
    assert response.status_code == 413
    assert TOO_MANY_FIELDS in page
    assert 'name="text"' in page and "csrfmiddlewaretoken" in page
    assert not Case.objects.exists() and not RawContact.objects.exists()


def test_a_31_mb_complaint_shows_the_form_again(browser_client: Client, db: Any) -> None:
    body = "name=Carla&text=" + "x" * (31 * 1024 * 1024)
    response = browser_client.post(
        "/complain/", body, content_type="application/x-www-form-urlencoded"
    )
    page = response.content.decode()
    assert response.status_code == 413
    assert TOO_LARGE in page
    assert 'name="text"' in page
    assert "Bad Request" not in page
    assert not Case.objects.exists() and not RawContact.objects.exists()


def test_the_message_is_shown_once(browser_client: Client, db: Any) -> None:
    browser_client.post("/complain/", _many_fields())
    assert TOO_MANY_FIELDS not in browser_client.get("/complain/").content.decode()


def test_a_too_large_reply_on_the_customers_page_goes_back_to_it_with_the_reason(
    complaint: Case,
) -> None:
    # given the customer's page, opened from the link
    client = Client(enforce_csrf_checks=True)
    page = client.get(portal_url(complaint))["Location"]
    assert client.get(page).status_code == 200
    before = Message.objects.count()
    # when a reply with too many fields is posted from it
    response = client.post(page + "reply/", _many_fields(), headers={"Referer": page})
    # then back to the page, which says why, and nothing was added
    assert (response.status_code, response["Location"]) == (303, page)
    assert TOO_MANY_FIELDS in client.get(page).content.decode()
    assert Message.objects.count() == before


def test_the_sign_in_form_comes_back_too(browser_client: Client, db: Any) -> None:
    response = browser_client.post("/login/", _many_fields())
    assert response.status_code == 413
    page = response.content.decode()
    assert TOO_MANY_FIELDS in page and 'name="password"' in page


def test_an_address_without_a_page_to_show_answers_the_reason_alone(
    browser_client: Client,
) -> None:
    response = browser_client.post("/complain/thanks/not-a-token/", _many_fields())
    assert response.status_code == 413
    page = response.content.decode()
    assert "What you sent was too large" in page and TOO_MANY_FIELDS in page


def test_the_reason_comes_in_the_visitors_language(browser_client: Client, db: Any) -> None:
    response = browser_client.post("/complain/", _many_fields(), HTTP_ACCEPT_LANGUAGE="de")
    html = response.content.decode()
    assert response.status_code == 413
    assert "wir konnten es nicht lesen, und es wurde nichts gespeichert." in html
    assert "<h1>Erzählen Sie uns, was passiert ist</h1>" in html
    assert not RawContact.objects.exists()


def test_an_htmx_post_gets_the_reason_alone_for_the_top_of_its_page(
    browser_client: Client, db: Any
) -> None:
    # when: a part of a page posts by HTMX (which swaps the answer into that part)
    response = browser_client.post("/complain/", _many_fields(), headers={"HX-Request": "true"})
    # then: the sentence alone, put at the top of the page's main region, not a whole page
    page = response.content.decode()
    assert response.status_code == 413
    assert (response["HX-Retarget"], response["HX-Reswap"]) == ("#main", "afterbegin show:top")
    assert TOO_MANY_FIELDS in page and 'role="alert"' in page
    assert "<html" not in page and 'name="text"' not in page
    assert not Case.objects.exists() and not RawContact.objects.exists()
