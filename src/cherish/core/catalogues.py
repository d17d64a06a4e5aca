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

import ast
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
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
    "learning/templates/learning/you_said_we_did.html",
    "learning/templates/learning/email/action_notice.txt",
    "learning/actions/improvements.py",
    "staff/creed_texts.py",
    "staff/templatetags/creed.py",
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
    files = [
        *PACKAGE_DIR.glob("**/templates/**/*.html"),
        *PACKAGE_DIR.glob("**/templates/**/*.txt"),  # the plain-text parts of emails
        *PACKAGE_DIR.glob("**/*.py"),
    ]
    return sorted(p for p in files if "migrations" not in p.parts and p.parent != LOCALE_DIR)


_LOADS_I18N = re.compile(r"{%\s*load\s[^%]*\bi18n\b")


def extract_messages(paths: Iterable[Path]) -> list[Found]:
    """Every text marked for translation in these templates and Python modules."""
    found = []
    for path in paths:
        source = path.read_text(encoding="utf-8")
        if path.suffix in (".html", ".txt"):
            # {% load i18n %}, {% load static i18n other_tags %} …: i18n anywhere in a load.
            if not _LOADS_I18N.search(source):
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


# --- Words left unmarked -------------------------------------------------------------------
# A text nobody marked never reaches a catalogue, so "every marked text is translated" says
# nothing about it. These walk the templates and the Python modules for words shown to people
# that are not marked for translation.

# Attributes whose value people read (or hear, with a screen reader).
_READ_ATTRIBUTES = ("placeholder", "aria-label", "title", "alt", "data-confirm", "hx-confirm")
# Words that are the same in every language: the product's name, a key's name, figures' names.
_NOT_WORDS = frozenset({"Cherish", "NPS", "Enter", "CH-…", "public", "case-page"})
_WORD = re.compile(r"[A-Za-z]{2,}")


class _TextCollector(HTMLParser):
    """The text runs and read attributes of one page, with template tags as breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        for name, value in attrs:
            if name in _READ_ATTRIBUTES and value:
                self._keep(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._keep(data)

    def _keep(self, text: str) -> None:
        for piece in text.split(_BREAK.strip()):
            piece = " ".join(piece.split())
            if _WORD.search(piece) and piece not in _NOT_WORDS:
                self.found.append(piece)


# A template tag or variable: where one text ends and the next begins. Spaces around it keep
# a tag's markup parseable when the template tag sits inside it (<details{% if … %} open…>).
_BREAK = " \x00 "


def unmarked_template_texts(path: Path) -> list[str]:
    """Words in a template outside ``{% translate %}`` / ``{% blocktranslate %}`` (and
    outside comments), as "<file>: <text>"; literal default texts of variables count too."""
    from django.template.base import Lexer, TokenType

    source = path.read_text(encoding="utf-8")
    text: list[str] = []
    problems: list[str] = []
    inside = ""
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = (token.contents.split() or [""])[0]
            if name in ("blocktranslate", "blocktrans", "comment"):
                inside = name
            elif name in ("endblocktranslate", "endblocktrans", "endcomment"):
                inside = ""
        if token.token_type == TokenType.TEXT and not inside:
            text.append(token.contents)
        else:
            text.append(_BREAK)
        if token.token_type == TokenType.VAR:
            # {{ x|default:"Nobody" }}: the literal is shown as it is.
            for literal in re.findall(r'default(?:_if_none)?:"([^"]*)"', token.contents):
                if re.search(r"[A-Za-z]{3,}", literal):
                    problems.append(literal)
    collector = _TextCollector()
    collector.feed("".join(text))
    collector.close()
    where = str(path.relative_to(PACKAGE_DIR))
    return [f"{where}: {text!r}" for text in [*collector.found, *problems]]


# Calls whose text argument people read: flash messages, refusals, form words.
_MESSAGE_CALLS = frozenset({"success", "error", "warning", "info"})
_GETTEXT_CALLS = frozenset(_KEYWORDS) | {"format_lazy"}
_FORM_WORDS = frozenset({"label", "help_text", "empty_label"})
# Keyword arguments views hand to a page as a sentence to show.
_SHOWN_KEYWORDS = frozenset({"notice", "status_message", "message", "error"})


def _unmarked(node: ast.expr) -> bool:
    """Is this expression plain English: a literal or f-string not passed through gettext?"""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(_WORD.search(node.value))
    if isinstance(node, ast.JoinedStr):  # words of its own, not only translated parts
        return any(_unmarked(part) for part in node.values if isinstance(part, ast.Constant))
    if isinstance(node, ast.IfExp):
        return _unmarked(node.body) or _unmarked(node.orelse)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return _unmarked(node.left)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
    ):
        return _unmarked(node.func.value)
    return False


def unmarked_python_texts(path: Path, *, refusals: frozenset[str] = frozenset()) -> list[str]:
    """Unmarked words in a module: flash messages (``messages.error(request, "…")``), choice
    labels of ``TextChoices``, form labels and help texts, and — for exception classes named
    in ``refusals`` — the sentence a refusal is raised with."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    where = str(path.relative_to(PACKAGE_DIR))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = getattr(getattr(func, "value", None), "id", "")
            shown_message = owner == "messages" and name in _MESSAGE_CALLS and len(node.args) > 1
            if shown_message and _unmarked(node.args[1]):
                found.append((node.lineno, ast.unparse(node.args[1])))
            if name in refusals and node.args and _unmarked(node.args[0]):
                found.append((node.lineno, ast.unparse(node.args[0])))
            if "forms" in path.name or "views" in path.name:
                for keyword in node.keywords:
                    shown = _FORM_WORDS | (_SHOWN_KEYWORDS if "views" in path.name else set())
                    if keyword.arg in shown and _unmarked(keyword.value):
                        found.append((node.lineno, ast.unparse(keyword.value)))
                    if keyword.arg == "error_messages" and isinstance(keyword.value, ast.Dict):
                        for value in keyword.value.values:
                            if _unmarked(value):
                                found.append((value.lineno, ast.unparse(value)))
        if isinstance(node, ast.ClassDef) and any(
            ast.unparse(base).endswith("Choices") for base in node.bases
        ):
            for statement in node.body:
                if not isinstance(statement, ast.Assign):
                    continue
                value = statement.value
                label = value.elts[-1] if isinstance(value, ast.Tuple) else value
                if isinstance(value, ast.Constant) or _unmarked(label):
                    found.append((statement.lineno, ast.unparse(statement)))
    return [f"{where}:{line}: {text[:120]}" for line, text in sorted(found)]


def unmarked_texts(*, refusals: frozenset[str] = frozenset()) -> list[str]:
    """Every unmarked word shown to people, in templates and Python modules (see above)."""
    problems: list[str] = []
    for path in all_source_files():
        if path.suffix in (".html", ".txt"):
            problems += unmarked_template_texts(path)
        else:
            problems += unmarked_python_texts(path, refusals=refusals)
    return problems
