"""Recognise mail no person wrote: auto-replies, bounces, mailing lists (RFC 3834 and kin).

Such mail is stored raw and marked ignored: it never opens a case and is never answered, so
Cherish cannot join a loop with another auto-responder or acknowledge a list's robot.

List software marks its mail in its own ways, and not all of it sends the RFC 2369/2919
``List-*`` headers (a Mailman 2 digest has none), so each product's own marks are checked
too. Sources: RFC 2369, RFC 2919, RFC 3834, RFC 2142 (``LIST-REQUEST``), and the headers
written by Mailman 2/3, Sympa, Google Groups, Yahoo/eGroups, L-Soft LISTSERV, ezmlm,
Majordomo, SmartList, Ecartis/Listar, ListProc, Lyris ListManager and fml.
"""

from __future__ import annotations

import re
from email.message import Message
from email.utils import getaddresses

_BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_DAEMON_LOCALPARTS = {
    "mailer-daemon",
    "postmaster",
    "noreply",
    "no-reply",
    "do-not-reply",
    "donotreply",
}
# Any of these headers, with any value, is written only by list software (or, for
# Feedback-ID, a bulk sender); the value names the software when the header is its own.
_LIST_HEADERS = {
    "list-id": "",
    "list-unsubscribe": "",
    "list-post": "",
    "list-help": "",
    "list-subscribe": "",
    "list-owner": "",
    "list-archive": "",
    "feedback-id": "",
    "mailing-list": "",  # ezmlm, Yahoo/eGroups, Google Groups
    "x-mailman-version": "Mailman",
    "x-mailman-rule-hits": "Mailman",
    "x-mailman-rule-misses": "Mailman",
    "x-list-administrivia": "Mailman",
    "x-beenthere": "Mailman",
    "x-list-received-date": "Mailman",
    "list-software": "",
    "x-sympa-to": "Sympa",
    "x-sympa-from": "Sympa",
    "x-sympa-family": "Sympa",
    "x-sequence": "Sympa or LISTSERV",
    "x-google-group-id": "Google Groups",
    "x-google-loop": "Google Groups",
    "x-spam-checked-in-group": "Google Groups",
    "x-egroups-return": "Yahoo Groups",
    "x-egroups-msg-info": "Yahoo Groups",
    "x-yahoo-newman-property": "Yahoo Groups",
    "x-listserver": "LISTSERV",
    "x-lsv-listid": "LISTSERV",
    "x-majordomo-version": "Majordomo",
    "x-mailing-list": "SmartList",
    "x-ecartis-version": "Ecartis",
    "x-listar-version": "Listar",
    "x-listprocessor-version": "ListProc",
    "x-listmember": "Lyris ListManager",
    "x-ml-name": "fml",
    "x-ml-count": "fml",
}
_LIST_MAILERS = re.compile(
    r"\b(mailman|sympa|listserv|ezmlm|majordomo|smartlist|ecartis|listar|listproc|lyris|fml)\b"
)
# ezmlm's delivery mark (ezmlm-send writes "Delivered-To: mailing list x@y").
_EZMLM_DELIVERED = re.compile(r"^mailing list\b")
# Addresses of list robots by the conventions list software follows (RFC 2142 "-request",
# Mailman's "-bounces", "-admin", "-owner", Majordomo's "owner-", Google's "+owners").
_ROBOT_SUFFIXES = ("-request", "-bounces", "-admin", "-owner", "+owners")
_ROBOT_PREFIXES = ("owner-",)
_ROBOT_NAMES = {"listserv", "majordomo", "mailman", "sympa", "ezmlm", "listproc"}
# VERP return paths of list software: "list-bounces+user=example.com@" (Mailman),
# "list-return-123-user=example.com@" (ezmlm), "owner-list@" (Majordomo).
_ROBOT_RETURN_PATH = re.compile(r"(-bounces(\+|$)|-return-\d|^owner-|-request$|-owner$)")


def _get(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, TypeError, IndexError, LookupError):
        return "?"
    return str(value).strip().lower() if value is not None else ""


def _localparts(value: str) -> list[str]:
    return [address.rsplit("@", 1)[0].lower() for _, address in getaddresses([value]) if address]


def _list_robot(localpart: str, *, person_header: bool) -> bool:
    """True for an address list software uses for itself.

    On From, where a person's own address appears, "-admin" and "-owner" are left out: a
    person may be "it-admin@"; list software puts those names in Sender and the envelope.
    """
    if localpart in _ROBOT_NAMES or localpart.startswith(_ROBOT_PREFIXES):
        return True
    suffixes = ("-request", "-bounces") if person_header else _ROBOT_SUFFIXES
    return localpart.endswith(suffixes)


def list_reason(message: Message, *, envelope_sender: str | None = None) -> str | None:
    """Why this message came from mailing-list software, or None."""
    present = {key.lower() for key in message}
    for header, software in _LIST_HEADERS.items():
        if header in present:
            key = _first_key(message, header)
            return f"mailing list ({software}, {key})" if software else f"mailing list ({key})"
    mailer = _get(message, "X-Mailer")
    found = _LIST_MAILERS.search(mailer)
    if found:
        return f"mailing list (X-Mailer: {found.group(1)})"
    if any(_EZMLM_DELIVERED.match(v.strip().lower()) for v in _all(message, "Delivered-To")):
        return "mailing list (ezmlm Delivered-To)"
    for header, person in (("From", True), ("Sender", False)):
        for localpart in _localparts(_get(message, header)):
            if _list_robot(localpart, person_header=person):
                return f"mailing list robot ({header}: {localpart}@…)"
    paths = [*_localparts(_get(message, "Return-Path"))]
    if envelope_sender:
        paths += _localparts(envelope_sender)
    for localpart in paths:
        if _ROBOT_RETURN_PATH.search(localpart) or localpart in _ROBOT_NAMES:
            return f"mailing list robot (return path {localpart}@…)"
    return None


def _first_key(message: Message, lowered: str) -> str:
    return next(key for key in message if key.lower() == lowered)


def _all(message: Message, name: str) -> list[str]:
    try:
        return [str(value) for value in message.get_all(name) or []]
    except (ValueError, TypeError, IndexError, LookupError):
        return []


def automatic_reason(message: Message, *, envelope_sender: str | None = None) -> str | None:
    """Why this message is automatic, or None when a person seems to have written it.

    ``envelope_sender`` is the SMTP MAIL FROM; ``""`` is the null sender of bounces, ``None``
    means unknown (IMAP).
    """
    auto_submitted = _get(message, "Auto-Submitted")
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = _get(message, "Precedence")
    if precedence in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    listed = list_reason(message, envelope_sender=envelope_sender)
    if listed:
        return listed
    for name in ("X-Autoreply", "X-Autorespond", "X-Autogenerated"):
        value = _get(message, name)
        if value:
            return f"{name}: {value}"
    if _get(message, "X-Loop"):
        return "X-Loop"
    content_type = message.get_content_type()
    report_type = message.get_param("report-type", header="content-type")
    if content_type == "multipart/report" or str(report_type).lower() in (
        "delivery-status",
        "disposition-notification",
    ):
        return "delivery or read report"
    if envelope_sender is not None and envelope_sender.strip("<> ") == "":
        return "null envelope sender (bounce)"
    sender = _get(message, "From") or _get(message, "Return-Path")
    localpart = sender.rsplit("<", 1)[-1].split("@", 1)[0].strip('<> "')
    if localpart in _DAEMON_LOCALPARTS:
        return f"sent by {localpart}"
    return None
