"""The customer's own page, posted from real Chromium: reply with a photo, "my problem is
solved", and asking for a new link — on a desktop and a 360-px phone, with and without
JavaScript. The link is the one in the email the customer actually received."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.cache import cache
from tests.outbox.conftest import free_port

from cherish.cases import actions as case_actions
from cherish.cases.models import CaseEvent
from cherish.cases.outgoing import queue_message_email
from cherish.core.signing import make_token
from cherish.outbox.models import OutgoingEmail

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 780}, "device_scale_factor": 2, "is_mobile": True}
DESKTOP = {"viewport": {"width": 1366, "height": 900}}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()


@pytest.fixture
def emailed_link(live_server, transactional_db, settings, complaint, agent) -> str:
    """The link in the latest email the customer received from the case owner."""
    settings.SITE_URL = live_server.url
    reply = case_actions.reply_to_customer(complaint, text="Could you send a photo?", by=agent)
    email = queue_message_email(reply)
    assert email is not None
    found = re.search(r"http://\S+/c/\S+/", email.text_body)
    assert found is not None
    return found.group(0)


class _Recorder(BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []  # path and headers of every request, in order

    def do_GET(self) -> None:
        type(self).seen.append({"path": self.path, **dict(self.headers)})
        body = b"<!doctype html><title>Returns</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def other_site() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A server on another origin that records the headers it is sent."""
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.seen
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
@pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=["desktop", "phone-360"])
def test_customer_replies_with_a_photo_and_says_solved(
    browser, live_server, complaint, emailed_link, device, javascript
):
    # given: the customer opens the link from the email
    context = browser.new_context(java_script_enabled=javascript, **device)
    page = context.new_page()
    page.goto(emailed_link)
    # then: the page is open and the token has left the address bar
    expect(page.locator("#case-reference")).to_have_text(complaint.reference)
    assert page.url == f"{live_server.url}/your-case/{complaint.reference}/"
    assert page.evaluate("document.documentElement.scrollWidth") <= device["viewport"]["width"]
    # when: a reply with a photo (the browser says "octet-stream"; the content says PNG)
    page.get_by_role("textbox", name="Your message").fill("Here is the photo of the lid.")
    page.get_by_label("Photos or documents (optional)").set_input_files(
        [{"name": "lid.png", "mimeType": "application/octet-stream", "buffer": PNG}]
    )
    page.get_by_role("button", name="Send").click()
    # then: accepted (no 403), shown, stored typed by its content
    expect(page.get_by_text("Thank you. Your message has been added to your case.")).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text("Here is the photo of the lid.")
    message = complaint.messages.filter(direction="in").order_by("created_at").last()
    assert message.body_text == "Here is the photo of the lid."
    assert message.attachments.get().content_type == "image/png"
    # when: "yes, my problem is solved"
    page.get_by_role("button", name="Yes, my problem is solved").click()
    # then
    expect(
        page.get_by_text("Thank you for letting us know your problem is solved.")
    ).to_be_visible()
    assert CaseEvent.objects.filter(case=complaint, type="customer.confirmed_solved").exists()
    context.close()


def test_a_file_we_do_not_accept_is_refused_on_the_page(browser, complaint, emailed_link):
    page = browser.new_context(**PHONE).new_page()
    page.goto(emailed_link)
    page.get_by_role("textbox", name="Your message").fill("The invoice is attached.")
    page.get_by_label("Photos or documents (optional)").set_input_files(
        [{"name": "invoice.pdf", "mimeType": "application/pdf", "buffer": b"MZ\x90\x00 program"}]
    )
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("“invoice.pdf” is not a file type we accept.")).to_be_visible()
    assert complaint.messages.filter(direction="in").count() == 1


def test_a_link_to_another_site_carries_no_referer(browser, complaint, emailed_link, other_site):
    # given: the customer's page is open (the token is already out of the address bar)
    origin, seen = other_site
    page = browser.new_context(**DESKTOP).new_page()
    page.goto(emailed_link)
    # when: the customer follows a link to another site (as one in a message would be)
    page.evaluate(
        """href => {
            const link = Object.assign(document.createElement("a"), {id: "out", href});
            link.textContent = "our returns page";
            document.body.append(link);
        }""",
        f"{origin}/returns",
    )
    page.click("#out")
    page.wait_for_url(f"{origin}/returns")
    # then: the other site learns nothing about where the customer came from
    (headers,) = [request for request in seen if request["path"] == "/returns"]
    assert "Referer" not in headers


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_an_old_link_asks_for_a_new_one_which_then_opens_the_page(
    browser, live_server, transactional_db, settings, complaint, javascript
):
    # given: a link from the first release (signed, with the case id, never expiring)
    settings.SITE_URL = live_server.url
    old = f"{live_server.url}/c/{make_token('case', {'c': complaint.pk, 'v': 0})}/"
    page = browser.new_context(java_script_enabled=javascript, **PHONE).new_page()
    page.goto(old)
    expect(page.get_by_role("heading", name="This link has expired")).to_be_visible()
    # when
    page.get_by_role("button", name="Email me a new link").click()
    # then
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    email = OutgoingEmail.objects.get()
    assert email.to_address == "carla@example.com"
    new_link = re.search(r"http://\S+/c/\S+/", email.text_body)
    assert new_link is not None
    page.goto(new_link.group(0))
    expect(page.locator("#case-reference")).to_have_text(complaint.reference)


def test_the_page_without_a_link_offers_a_new_one(
    browser, live_server, transactional_db, complaint
):
    page = browser.new_context(**DESKTOP).new_page()
    page.goto(f"{live_server.url}/your-case/{complaint.reference}/")
    expect(
        page.get_by_role("heading", name="Open your case from the link in our email")
    ).to_be_visible()
    assert "My parcel arrived broken" not in page.content()
    page.get_by_role("button", name="Email me a new link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    assert OutgoingEmail.objects.get().to_address == "carla@example.com"
