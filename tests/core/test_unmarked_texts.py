"""Every word the desk or a customer reads is marked for translation.

``test_i18n`` proves every *marked* text has its translations; a text nobody marked never
reaches a catalogue, so it would stay English on a German desk and pass unnoticed. These walk
every template and Python module for words left unmarked (``catalogues.unmarked_texts``);
the German desk test beside them renders the pages.
"""

from __future__ import annotations

from cherish.core import catalogues

# Refusals (CherishError and its kinds) raised with a sentence for people to read: the
# desk shows them beside the form, the API in its problem details.
REFUSALS = frozenset(
    {
        "CherishError",
        "Forbidden",
        "DeskError",
        "CareError",
        "CareForbidden",
        "CaseError",
        "CaseForbidden",
        "CustomerError",
        "FeedbackError",
        "LearningError",
        "OutreachError",
        "PeopleError",
        "SurveyClosed",
        "TriageError",
    }
)


def test_no_template_has_unmarked_words():
    problems = [
        line
        for path in catalogues.all_source_files()
        if path.suffix == ".html"
        for line in catalogues.unmarked_template_texts(path)
    ]
    assert problems == []


def test_no_python_module_shows_unmarked_words():
    problems = [
        line
        for path in catalogues.all_source_files()
        if path.suffix == ".py" and path.name != "admin.py"  # Django's admin is English
        for line in catalogues.unmarked_python_texts(path, refusals=REFUSALS)
    ]
    assert problems == []


def test_the_walker_finds_unmarked_words(tmp_path, monkeypatch):
    monkeypatch.setattr(catalogues, "PACKAGE_DIR", tmp_path)
    page = tmp_path / "page.html"
    page.write_text(
        "{% load i18n %}<h1>{% translate 'Fine' %}</h1><p>Left in English {{ n }} times</p>"
        '<input placeholder="Your name"><details{% if x %} open{% endif %}>'
        "{% blocktranslate %}Also fine{% endblocktranslate %}</details>"
        '{{ owner|default:"nobody" }}<span>Cherish</span>'
    )
    assert catalogues.unmarked_template_texts(page) == [
        "page.html: 'Left in English'",
        "page.html: 'times'",
        "page.html: 'Your name'",
        "page.html: 'nobody'",
    ]
    module = tmp_path / "views.py"
    module.write_text(
        "from django.contrib import messages\n"
        "from django.utils.translation import gettext as _\n"
        "def view(request, n):\n"
        "    messages.success(request, _('Fine.'))\n"
        "    messages.error(request, f'Broken {n} times.')\n"
        "    raise Forbidden('Not for you.')\n"
        "class Colour(TextChoices):\n"
        "    RED = 'red', _('Red')\n"
        "    BLUE = 'blue', 'Blue'\n"
    )
    found = catalogues.unmarked_python_texts(module, refusals=frozenset({"Forbidden"}))
    assert found == [
        "views.py:5: f'Broken {n} times.'",
        "views.py:6: 'Not for you.'",
        "views.py:9: BLUE = ('blue', 'Blue')",
    ]
