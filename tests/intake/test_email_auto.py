"""Mail from list software never opens a case, even without the RFC 2369/2919 List-* headers."""

from __future__ import annotations

import email
import smtplib
from email import policy
from pathlib import Path

import pytest

from cherish.cases.models import Case
from cherish.intake.email.auto import automatic_reason
from cherish.intake.models import RawContact

CORPUS = Path(__file__).parent.parent / "data" / "email" / "corpus"


def _message(headers: str, *, sender: str = "Pat Person <pat@example.org>"):
    return email.message_from_string(
        f"From: {sender}\nTo: care@cherish.example.com\nSubject: hello\n{headers}\n\nbody\n",
        policy=policy.default,
    )


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ("X-Mailman-Version: 2.1.39", "mailing list (Mailman, X-Mailman-Version)"),
        (
            "X-Mailman-Rule-Misses: dmarc-mitigation",
            "mailing list (Mailman, X-Mailman-Rule-Misses)",
        ),
        ("X-BeenThere: shoppers@lists.example.org", "mailing list (Mailman, X-BeenThere)"),
        ("X-List-Administrivia: yes", "mailing list (Mailman, X-List-Administrivia)"),
        ("X-Sequence: 4711", "mailing list (Sympa or LISTSERV, X-Sequence)"),
        ("X-Sympa-From: pat@example.org", "mailing list (Sympa, X-Sympa-From)"),
        (
            "Mailing-list: list shoppers@googlegroups.com; contact shoppers+owners@example.com",
            "mailing list (Mailing-list)",
        ),
        ("X-Google-Group-Id: 175645748590", "mailing list (Google Groups, X-Google-Group-Id)"),
        ("X-Google-Loop: groups", "mailing list (Google Groups, X-Google-Loop)"),
        (
            "Mailing-List: contact shoppers-help@example.org; run by ezmlm",
            "mailing list (Mailing-List)",
        ),
        ("Delivered-To: mailing list shoppers@example.org", "mailing list (ezmlm Delivered-To)"),
        ("X-LSV-ListID: SHOPPERS", "mailing list (LISTSERV, X-LSV-ListID)"),
        ("X-Listserver: L-Soft LISTSERV 16.5", "mailing list (LISTSERV, X-Listserver)"),
        ("X-Majordomo-Version: 1.94.5", "mailing list (Majordomo, X-Majordomo-Version)"),
        (
            "X-Mailing-List: <shoppers@example.org> archive/latest/7971",
            "mailing list (SmartList, X-Mailing-List)",
        ),
        ("X-Ecartis-Version: Ecartis v1.0.0", "mailing list (Ecartis, X-Ecartis-Version)"),
        (
            "X-Listprocessor-Version: 8.2.10 -- ListProc(tm) by CREN",
            "mailing list (ListProc, X-Listprocessor-Version)",
        ),
        ("X-ML-Name: shoppers", "mailing list (fml, X-ML-Name)"),
        (
            "X-eGroups-Return: sentto-1-2-3@returns.groups.yahoo.com",
            "mailing list (Yahoo Groups, X-eGroups-Return)",
        ),
        ("X-Mailer: Mailman v2.0.4", "mailing list (X-Mailer: mailman)"),
        (
            "List-Help: <mailto:shoppers-request@example.org?subject=help>",
            "mailing list (List-Help)",
        ),
        ("List-Software: Mailman 3", "mailing list (List-Software)"),
    ],
)
def test_list_software_is_recognised_by_its_own_headers(headers, expected):
    assert automatic_reason(_message(headers)) == expected


@pytest.mark.parametrize(
    ("headers", "sender", "envelope", "expected"),
    [
        ("", "shoppers-request@example.org", None, "mailing list robot (From: shoppers-request@…)"),
        ("", "shoppers-bounces@example.org", None, "mailing list robot (From: shoppers-bounces@…)"),
        ("", "owner-shoppers@example.org", None, "mailing list robot (From: owner-shoppers@…)"),
        ("", "LISTSERV@LISTSERV.example.edu", None, "mailing list robot (From: listserv@…)"),
        ("", "Majordomo@example.org", None, "mailing list robot (From: majordomo@…)"),
        (
            "Sender: shoppers-admin@example.org",
            "Pat Person <pat@example.org>",
            None,
            "mailing list robot (Sender: shoppers-admin@…)",
        ),
        (
            "Sender: shoppers-owner@example.org",
            "Pat Person <pat@example.org>",
            None,
            "mailing list robot (Sender: shoppers-owner@…)",
        ),
        (
            "",
            "Pat Person <pat@example.org>",
            "shoppers-bounces+care=cherish.example.com@example.org",
            "mailing list robot (return path shoppers-bounces+care=cherish.example.com@…)",
        ),
        (
            "Return-Path: <shoppers-return-42-care=cherish.example.com@example.org>",
            "Pat Person <pat@example.org>",
            None,
            "mailing list robot (return path shoppers-return-42-care=cherish.example.com@…)",
        ),
    ],
    ids=[
        "rfc2142-request",
        "mailman-bounces",
        "majordomo-owner-prefix",
        "listserv",
        "majordomo",
        "mailman2-sender-admin",
        "sender-owner",
        "mailman-verp-envelope",
        "ezmlm-return-path",
    ],
)
def test_list_robots_are_recognised_by_their_addresses(headers, sender, envelope, expected):
    message = _message(headers, sender=sender)
    assert automatic_reason(message, envelope_sender=envelope) == expected


@pytest.mark.parametrize(
    "sender",
    ["Ida Admin <it-admin@example.org>", "Sam <shop-owner@example.org>", "request@example.org"],
)
def test_a_person_whose_address_merely_looks_administrative_is_not_a_robot(sender):
    assert automatic_reason(_message("", sender=sender), envelope_sender="x@example.org") is None


def test_mailman_digest_without_list_id_opens_nothing_and_is_not_acknowledged(
    inbound_smtp, mail_sink, tasks, ack_only, agent
):
    # given: CPython's Mailman 2 digest: no List-Id, no Precedence, From ppp-request@
    digest = (CORPUS / "cpython" / "msg_02.txt").read_bytes().replace(b"\n", b"\r\n")
    # when
    with smtplib.SMTP(*inbound_smtp) as smtp:
        assert smtp.sendmail("ppp-admin@zzz.org", ["care@cherish.example.com"], digest) == {}
    tasks.run()
    # then
    (raw,) = RawContact.objects.all()
    assert (raw.status, raw.error) == (
        "ignored",
        "Automatic mail, not answered: mailing list (Mailman, X-Mailman-Version)",
    )
    assert Case.objects.count() == 0
    assert tasks.names() == []
    assert mail_sink.received == []
