"""Our gettext catalogues: find the texts marked for translation, compile, check complete.

Pure Python (Django's template-to-gettext conversion and Babel), so neither the build nor
the tests need GNU gettext: ``cherish messages compile`` writes each ``django.mo`` from its
``django.po``; the compiled files are committed, as Django itself does, so an installed
package speaks every language without a build step, and a test fails when one is stale.
``cherish makemessages`` (Django's, which needs xgettext) is only for adding new texts to the
``.po`` files.

What must be complete: every text on a customer-facing page or in a customer-facing email
(CUSTOMER_FACING) in every language we offer, and every text at all in STAFF_LANGUAGES,
the languages the staff desk is complete in.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.utils.translation.template import templatize

PACKAGE_DIR = Path(__file__).resolve().parents[1]
LOCALE_DIR = PACKAGE_DIR / "locale"
DOMAIN = "django"
# The staff desk is complete in these languages as well as English (the source language).
STAFF_LANGUAGES = ("de",)
# Files (globs under src/cherish) whose every marked text a customer sees.
CUSTOMER_FACING = (
    "core/templates/core/base.html",
    "core/templates/core/public_base.html",
    "core/templates/core/unavailable.html",
    "core/templates/core/partials/language_switcher.html",
    "core/templates/core/too_large.html",
    "core/too_large.py",
    "intake/templates/intake/*.html",
    "intake/templates/intake/partials/*.html",
    "intake/templates/intake/portal/*.html",
    "intake/forms.py",
    "intake/portal.py",
    "intake/portal_intake.py",
    "cases/outgoing.py",
    "care/acknowledgement.py",
    "care/asked_for.py",
    "care/customer_updates.py",
    "care/templates/care/partials/customer_commitments.html",
    "feedback/templates/feedback/public_base.html",
    "feedback/templates/feedback/survey.html",
    "feedback/templates/feedback/closed.html",
    "feedback/templates/feedback/opt_out.html",
    "feedback/templates/feedback/partials/question.html",
    "feedback/templates/feedback/partials/case_rating.html",
    "feedback/views.py",
    "outreach/templates/outreach/answer.html",
    "outreach/templates/outreach/answer_thanks.html",
    "outreach/forms.py",
    "outreach/models.py",
    "outreach/actions.py",
    "feedback/actions.py",
    "feedback/builtin_texts.py",
)
# Staff-only files under these globs are left out of "customer-facing" even when matched.
_NOT_CUSTOMER_FACING = ("intake/templates/intake/staff/*.html",)

_KEYWORDS = {
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "_": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}


@dataclass(frozen=True)
class Found:
    """One marked text: its id (the singular for plurals), context, and where it is."""

    msgid: str
    context: str | None
    where: str


def languages() -> list[str]:
    """Every language with a catalogue: all we offer except the source language."""
    return [code for code, _ in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def customer_facing_files() -> list[Path]:
    excluded = {p for pattern in _NOT_CUSTOMER_FACING for p in PACKAGE_DIR.glob(pattern)}
    found = {p for pattern in CUSTOMER_FACING for p in PACKAGE_DIR.glob(pattern)}
    return sorted(found - excluded)


def all_source_files() -> list[Path]:
    files = [*PACKAGE_DIR.glob("**/templates/**/*.html"), *PACKAGE_DIR.glob("**/*.py")]
    return sorted(p for p in files if "migrations" not in p.parts and p.parent != LOCALE_DIR)


def extract_messages(paths: Iterable[Path]) -> list[Found]:
    """Every text marked for translation in these templates and Python modules."""
    found = []
    for path in paths:
        source = path.read_text(encoding="utf-8")
        if path.suffix == ".html":
            if "{% load i18n" not in source and "i18n %}" not in source:
                continue
            # Inside one pair of brackets Python's tokenizer ignores indentation, which a
            # templatized page (markup indented any way) would otherwise break; the line
            # numbers stay those of the template.
            source = "(" + templatize(source, origin=str(path)) + "\n)"
        elif "gettext" not in source:
            continue
        where = str(path.relative_to(PACKAGE_DIR))
        for lineno, message, _comments, context in extract(
            "python", io.BytesIO(source.encode("utf-8")), keywords=_KEYWORDS
        ):
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid:
                found.append(Found(msgid, context, f"{where}:{lineno}"))
    return found


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalogue(language: str) -> Catalog:
    with po_path(language).open("rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN)


def compiled(catalogue: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalogue, use_fuzzy=False)
    return buffer.getvalue()


def compile_all() -> list[Path]:
    """Write every ``django.mo`` from its ``django.po``; returns the files written."""
    written = []
    for language in languages():
        target = po_path(language).with_suffix(".mo")
        target.write_bytes(compiled(read_catalogue(language)))
        written.append(target)
    return written


def _translated(catalogue: Catalog, msgid: str, context: str | None) -> bool:
    message = catalogue.get(msgid, context=context)
    if message is None or message.fuzzy:
        return False
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return all(strings)


def missing_translations() -> list[str]:
    """One line per text that some language lacks: customer-facing texts in every language,
    and every text in the staff languages. Empty when the catalogues are complete."""
    customer = extract_messages(customer_facing_files())
    everything = extract_messages(all_source_files())
    problems = []
    for language in languages():
        catalogue = read_catalogue(language)
        wanted = customer + everything if language in STAFF_LANGUAGES else customer
        seen: set[tuple[str, str | None]] = set()
        for item in wanted:
            key = (item.msgid, item.context)
            if key in seen:
                continue
            seen.add(key)
            if not _translated(catalogue, item.msgid, item.context):
                problems.append(f"{language}: {item.where}: {item.msgid!r} is not translated")
    return problems


def stale_compiled_files() -> list[str]:
    """The ``django.mo`` files that differ from what their ``django.po`` compiles to."""
    stale = []
    for language in languages():
        target = po_path(language).with_suffix(".mo")
        expected = compiled(read_catalogue(language))
        if not target.exists() or target.read_bytes() != expected:
            stale.append(str(target.relative_to(PACKAGE_DIR)))
    return stale
