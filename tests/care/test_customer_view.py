from __future__ import annotations

import datetime as dt

from cherish.care import actions, queries
from cherish.cases.outgoing import portal_url

UTC = dt.UTC


def test_customer_page_shows_open_commitments_only(client, complaint, agent):
    # given
    promise = actions.record_commitment(
        complaint,
        what="Call you with the engineer's date",
        how="call",
        by=agent,
        due_at=dt.datetime(2099, 1, 8, 11, 0, tzinfo=UTC),
    )
    kept = actions.record_commitment(
        complaint,
        what="Email the invoice",
        how="email",
        by=agent,
        due_at=dt.datetime(2099, 1, 9, 11, 0, tzinfo=UTC),
    )
    actions.keep_commitment(kept, by=agent)
    # when
    page = client.get(portal_url(complaint), follow=True).content.decode()
    # then
    assert "What we have promised you" in page
    assert (
        "<strong>Call you with the engineer&#x27;s date</strong> — Alice will call you by "
        "Thursday 8 January, 11:00"
    ) in page
    assert "Email the invoice</strong>" not in page
    assert queries.open_commitments_for_customer_view(complaint) == [
        {
            "what": "Call you with the engineer's date",
            "due_at": promise.due_at,
            "how": "call",
            "how_label": "Call",
            "owner_first_name": "Alice",
        }
    ]
