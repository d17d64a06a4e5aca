"""Which language a visitor or a customer gets, and locale-aware dates and money.

The language of a page: the visitor's explicit choice (the language switcher's cookie) wins;
then, on a customer's own pages, the language remembered for the customer; then the
browser's Accept-Language (Django's LocaleMiddleware); then English. An email goes in the
language remembered for its customer (see customers.actions.remember_language).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header

# Babel locales for our language codes: British English matches the house style ("Friday
# 4 December"), the others are each language's main locale.
_BABEL_LOCALES = {"en": "en_GB", "pt": "pt_PT"}
# A weekday and a day of the month, as each language writes it in a sentence.
_DAY_PATTERNS = {
    "en": "EEEE d MMMM",
    "de": "EEEE, d. MMMM",
    "fr": "EEEE d MMMM",
    "es": "EEEE d 'de' MMMM",
    "nl": "EEEE d MMMM",
    "pt": "EEEE, d 'de' MMMM",
}


def language_codes() -> list[str]:
    return [code for code, _ in settings.LANGUAGES]


def supported(code: str | None) -> str:
    """Our code for ``code`` ("de-AT" -> "de"), or "" when we do not speak it."""
    if not code:
        return ""
    base = code.strip().lower().replace("_", "-").split("-")[0]
    return base if base in language_codes() else ""


def chosen_language(request: HttpRequest) -> str:
    """The language the visitor picked with the switcher, or ""."""
    return supported(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))


def browser_language(request: HttpRequest) -> str:
    """The first language of the browser's Accept-Language that we speak, or ""."""
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")
    for code, _quality in parse_accept_lang_header(header):
        if code != "*" and (ours := supported(code)):
            return ours
    return ""


def use_language(request: HttpRequest, remembered: str) -> str:
    """Show this page in ``remembered`` (the customer's language) unless the visitor chose
    another with the switcher. Returns the language now active."""
    language = chosen_language(request) or supported(remembered)
    if language:
        translation.activate(language)
        request.LANGUAGE_CODE = language
    return translation.get_language() or settings.LANGUAGE_CODE


@contextmanager
def language_of(code: str | None) -> Iterator[str]:
    """Render inside this block in ``code`` (an unsupported or empty one means English)."""
    language = supported(code) or settings.LANGUAGE_CODE
    with translation.override(language):
        yield language


def babel_locale(language: str | None = None) -> str:
    code = supported(language or translation.get_language()) or settings.LANGUAGE_CODE
    return _BABEL_LOCALES.get(code, code)


def format_day(day: dt.date, language: str | None = None) -> str:
    """A weekday and date as that language writes it: "Friday 4 December",
    "Freitag, 4. Dezember", "vendredi 4 décembre"."""
    code = supported(language or translation.get_language()) or settings.LANGUAGE_CODE
    pattern = _DAY_PATTERNS.get(code, "EEEE d MMMM")
    return format_date(day, pattern, locale=babel_locale(code))


def format_money(amount: Decimal | int | float, currency: str, language: str | None = None) -> str:
    """An amount in its currency as that language writes it: "£12.50", "12,50 £"."""
    return format_currency(amount, currency, locale=babel_locale(language))


def format_number(value: Decimal | int | float, language: str | None = None) -> str:
    return format_decimal(value, locale=babel_locale(language))
