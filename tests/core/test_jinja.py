"""The Jinja2 engine (cherish.core.jinja) writes what Django's engine writes: the two base
templates, the same translations, escaping and CSRF field."""

from __future__ import annotations

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
