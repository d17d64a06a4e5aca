"""Email addresses as Cherish stores and compares them, internationalised ones included.

Django's ``validate_email`` accepts only ASCII local parts, but mail from an internationalised
address (EAI: RFC 6530-6533, ``josé@exämple.com``) reaches us through SMTPUTF8 and must
become a customer like any other. The ASCII rules stay Django's; UTF-8 is allowed where
RFC 6531 allows it (the local part's atoms, the domain's U-labels).
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

# RFC 5322 atext, widened by RFC 6531 to any UTF-8 character that is not a control,
# a space, a separator or unassigned (checked below with unicodedata).
_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010ffff]+")
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"}
MAX_LOCAL_OCTETS = 64  # RFC 5321 §4.5.3.1.1
MAX_ADDRESS_CHARS = 254  # RFC 5321 path limit less the angle brackets


def normalise_address(raw: str) -> str | None:
    """The address trimmed, NFC-normalised and lower-cased, or None when it is not one.

    An ASCII address must pass Django's validator unchanged. An internationalised one needs
    a dot-atom local part of printable characters (at most 64 UTF-8 octets) and a domain
    that IDNA can encode to a hostname Django accepts.
    """
    value = unicodedata.normalize("NFC", raw.strip()).lower()
    if not value or len(value) > MAX_ADDRESS_CHARS or "@" not in value:
        return None
    if value.isascii():
        try:
            validate_email(value)
        except ValidationError:
            return None
        return value
    local, _, domain = value.rpartition("@")
    if not _valid_local_part(local):
        return None
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    try:
        validate_email(f"x@{ascii_domain}")
    except ValidationError:
        return None
    return value


def _valid_local_part(local: str) -> bool:
    if not local or len(local.encode("utf-8")) > MAX_LOCAL_OCTETS:
        return False
    for atom in local.split("."):
        if not _ATOM.fullmatch(atom):
            return False
    return all(unicodedata.category(ch) not in _REFUSED_CATEGORIES for ch in local)


def is_internationalised(address: str) -> bool:
    """True when delivering to ``address`` needs SMTPUTF8 (RFC 6531)."""
    return not address.isascii()
