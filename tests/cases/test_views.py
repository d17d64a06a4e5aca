"""The agent desk through the real HTTP stack: inbox, case page, actions, downloads."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from tests.conftest import PASSWORD

from cherish.cases import actions
from cherish.cases.actions import NewAttachment
from cherish.cases.models import Attachment

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def case_url(case, suffix=""):
    return f"/desk/cases/{case.reference}/{suffix}"


# -- who may enter ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/desk/", "/desk/cases/{ref}/", "/desk/attachments/abc/"],
)
def test_anonymous_visitor_is_sent_to_login(client, complaint, path):
    response = client.get(path.format(ref=complaint.reference))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_anonymous_post_changes_nothing(client, complaint):
    response = client.post(case_url(complaint, "reply/"), {"text": "Hello"})
    assert response.status_code == 302
    assert complaint.messages.count() == 1


@pytest.mark.parametrize("path", ["/desk/", "/desk/cases/{ref}/"])
def test_account_without_staff_profile_is_refused(client, complaint, path):
    # given: a login that is not staff (e.g. a customer's or an integration's account)
    user = get_user_model().objects.create_user("visitor", password=PASSWORD)
    client.force_login(user)
    # then
    assert client.get(path.format(ref=complaint.reference)).status_code == 403
    response = client.post(case_url(complaint, "note/"), {"text": "sneaky"})
    assert response.status_code == 403
    assert complaint.messages.count() == 1


def test_unknown_case_is_404(desk_client, agent):
    assert desk_client.get("/desk/cases/CH-222222/").status_code == 404
    assert desk_client.get("/desk/cases/nonsense/").status_code == 404


# -- attachments -----------------------------------------------------------------------------


def attach(case, name="photo.png", content=PNG, content_type="image/png"):
    actions.add_inbound_message(
        case,
        text="Here is a photo.",
        channel="web",
        attachments=[NewAttachment(name=name, content_type=content_type, content=content)],
    )
    return Attachment.objects.latest("id")


def test_attachment_download_headers(desk_client, complaint):
    # given
    item = attach(complaint, name='damage "1".png')
    # when
    response = desk_client.get(f"/desk/attachments/{item.public_id}/")
    # then
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="damage _1_.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]


def test_attachment_of_unlisted_type_downloads_as_bytes(desk_client, complaint):
    item = attach(
        complaint, name="page.html", content=b"<script>x</script>", content_type="text/html"
    )
    response = desk_client.get(f"/desk/attachments/{item.public_id}/")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")


def test_attachments_have_no_public_media_url(client, desk_client, complaint):
    item = attach(complaint)
    assert client.get(f"/_private_media/{item.file.name}").status_code == 404
    assert desk_client.get(f"/_private_media/{item.file.name}").status_code == 404
    assert desk_client.get("/desk/attachments/does-not-exist/").status_code == 404
