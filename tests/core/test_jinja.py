"""The Jinja2 engine (cherish.core.jinja) writes what Django's engine writes: the two base
templates, the same translations, escaping and CSRF field."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.messages.storage.fallback import FallbackStorage
from django.template import engines
from django.test import RequestFactory
from django.utils import translation

TOKEN = re.compile(r'(csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+')


def _request(user, path="/desk/"):
    request = RequestFactory().get(path)
    request.user = user
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


@pytest.mark.parametrize("language", ["en", "de"])
def test_both_base_templates_write_the_same_page(agent, language):
    # given: a signed-in staff member on a desk page
    request = _request(agent.user)
    with translation.override(language):
        # when
        django_html = engines["django"].get_template("core/base.html").render({}, request)
        jinja_html = engines["jinja2"].get_template("core/base.html").render({}, request)
    # then: the same page but for the masked CSRF tokens (a fresh mask each)
    assert 'class="topnav"' in django_html
    assert TOKEN.sub(r"\1T", jinja_html) == TOKEN.sub(r"\1T", django_html)


def test_translations_escaping_and_csrf(agent):
    request = _request(agent.user)
    template = engines["jinja2"].from_string(
        '{{ _("Sign out") }}|{% trans name=who %}Reply to {{ name }}{% endtrans %}|{{ csrf_input }}'
    )
    with translation.override("de"):
        html = template.render({"who": "<b>O'Brien</b>"}, request)
    signed_out, reply, field = html.split("|")
    assert signed_out == "Abmelden"
    assert "&lt;b&gt;O&#39;Brien&lt;/b&gt;" in reply and "<b>" not in reply
    assert field.startswith('<input type="hidden" name="csrfmiddlewaretoken" value="')


def test_every_text_of_the_jinja2_templates_is_in_the_catalogues():
    """``makemessages`` reads Django's template syntax only: a text of a Jinja2 template
    (``{% trans %}``) it no longer finds would drop out of the catalogues with
    ``--no-obsolete``. Every one must be there (German as the check)."""
    from pathlib import Path

    from babel.messages.pofile import read_po

    import cherish

    root = Path(cherish.__file__).parent
    with open(root / "locale" / "de" / "LC_MESSAGES" / "django.po", "rb") as po:
        catalogue = read_po(po)
    env = engines["jinja2"].env
    missing = []
    templates = sorted(root.glob("*/jinja2/**/*.html"))
    assert templates
    for path in templates:
        for _line, function, message in env.extract_translations(path.read_text()):
            if function in ("pgettext", "npgettext"):
                context, text = message[0], message[1]
            else:
                context, text = None, message if isinstance(message, str) else message[0]
            found = catalogue.get(text, context=context)
            if found is None or not found.string:
                missing.append(f"{path.relative_to(root)}: {text!r}")
    assert missing == []


@pytest.mark.parametrize("language", ["en", "de"])
def test_display_filter_writes_what_get_display_does(complaint, language):
    # given: a case with a known channel and a stage no choice names
    template = engines["jinja2"].from_string(
        '{{ case|display("channel") }}|{{ case|display("stage") }}'
    )
    complaint.stage = "no-such-stage"
    with translation.override(language):
        # when
        html = template.render({"case": complaint})
        # then
        assert html == f"{complaint.get_channel_display()}|no-such-stage"


@pytest.mark.parametrize("language", ["en", "de"])
def test_key_facts_twins_write_the_same_panel(complaint, language):
    # given: the customers app's key facts of a case whose customer's name needs escaping
    from cherish.customers.templatetags.customer_panels import key_facts

    complaint.customer.name = "<b>O'Brien</b>"
    context = {"case": complaint, "facts": key_facts(complaint), "customer_url": "/c/1/"}
    name = "customers/partials/customer_key_facts.html"
    with translation.override(language):
        # when
        django_html = engines["django"].get_template(name).render(context)
        jinja_html = engines["jinja2"].get_template(name).render(context)
    # then
    assert "&lt;b&gt;O&#x27;Brien" in django_html or "&lt;b&gt;O&#39;Brien" in django_html
    assert jinja_html.replace("&#39;", "&#x27;") == django_html


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2026, 3, 29, 0, 30, 15, 120, tzinfo=dt.UTC),
        dt.date(2026, 12, 2),
        None,
    ],
)
def test_date_filter_writes_what_djangos_does(value, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    context = {"value": value}
    for fmt in ("c", "j M Y H:i"):
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime) and "H" in fmt:
            continue
        jinja_html = engines["jinja2"].from_string(f'{{{{ value|date("{fmt}") }}}}').render(context)
        django_html = engines["django"].from_string(f'{{{{ value|date:"{fmt}" }}}}').render(context)
        assert jinja_html == django_html, fmt


@pytest.mark.parametrize("language", ["en", "de"])
def test_weekday_filter_writes_what_djangos_does(language):
    # the moments page (Jinja2 since issue #14) names each moment's day
    day = dt.date(2026, 1, 8)
    with translation.override(language):
        django_day = engines["django"].from_string("{% load locale_formats %}{{ d|weekday }}")
        jinja_day = engines["jinja2"].from_string("{{ d|weekday }}")
        assert jinja_day.render({"d": day}) == django_day.render({"d": day})
        assert jinja_day.render({"d": None}) == ""
        assert language != "de" or "Donnerstag" in jinja_day.render({"d": day})
