"""Canonical forms of contact points, so one person is found by any way they write them."""

from __future__ import annotations

import phonenumbers
from django.conf import settings

from cherish.core.emailaddress import normalise_address


def normalise_email(raw: str) -> str | None:
    """Lower-cased and validated; internationalised addresses (RFC 6531) included."""
    return normalise_address(raw)


def normalise_phone(raw: str, region: str | None = None) -> str | None:
    """E.164 form of a phone number, or None when it is not a plausible number."""
    raw = raw.strip()
    if not raw:
        return None
    region = region or getattr(settings, "CHERISH_PHONE_REGION", "GB")
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
