"""The Jinja2 environment for the pages where the template engine is most of the cost.

The case page renders about 700 template nodes; Django's engine spends ~6 ms of CPU on them,
Jinja2 (which compiles a template to a Python function once per process) a fraction of that.
Everything else stays on Django's engine. What a Jinja2 template here can rely on, so it
writes the same HTML a Django template would:

- autoescaping (Django's ``SafeString`` is safe here too: it has ``__html__``);
- ``_("...")`` and ``{% trans %}`` through Django's own translation (the active language,
  the same catalogues and message ids: ``{% trans name=x %}… {{ name }}…{% endtrans %}`` is
  Django's ``{% blocktranslate with name=x %}`` message). Translated text is trusted, as
  Django's ``{% translate "…" %}`` does; a ``{% trans %}`` block's variables are escaped;
- ``csrf_input`` and ``csrf_token`` (one token per page, ``page_once`` below), ``request``,
  and the same context processors as the Django engine (settings.TEMPLATES);
- ``pgettext()``, ``url()``, ``static()``, ``widthratio()`` and Django's filters that depend
  on the language or time zone: ``date`` (in the current time zone, like Django's),
  ``timesince``, ``filesizeformat``, ``truncatechars``, ``slugify``, ``linebreaksbr``,
  ``localize`` (``{{ value }}`` as Django's engine prints a date or a number);
- ``django_include(name, context)``: a panel another app keeps as a Django template;
- ``obj|display("field")``: Django's ``obj.get_field_display()``, with the field's choices
  read once per process instead of at every call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template import defaultfilters as django_filters
from django.template import engines
from django.templatetags.static import static
from django.urls import reverse
from django.utils.encoding import force_str
from django.utils.formats import localize
from django.utils.hashable import make_hashable
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]
from django.utils.translation import (
    get_language,
    gettext,
    ngettext,
    npgettext,
    pgettext,
    trans_real,
)
from jinja2 import Environment
from markupsafe import Markup

from cherish.core.i18n import format_day


def _date(value: Any, fmt: str | None = None) -> str:
    if value in (None, ""):
        return ""
    if fmt == "c" and isinstance(value, dt.date):
        # What Django's "c" writes, without its format parser: each <time datetime> of a page.
        return str(template_localtime(value).isoformat())
    return str(django_filters.date(template_localtime(value), fmt))


def _safe_gettext(message: str) -> Markup:
    return Markup(gettext(message))


def _safe_ngettext(singular: str, plural: str, number: int) -> Markup:
    return Markup(ngettext(singular, plural, number))


def _safe_pgettext(context: str, message: str) -> Markup:
    return Markup(pgettext(context, message))


def _safe_npgettext(context: str, singular: str, plural: str, number: int) -> Markup:
    return Markup(npgettext(context, singular, plural, number))


def _widthratio(value: Any, max_value: Any, max_width: Any) -> str:
    """``{% widthratio value max_value max_width %}``, with its answers for odd values."""
    try:
        return str(round(float(value) / float(max_value) * int(max_width)))
    except ZeroDivisionError:
        return "0"
    except (ValueError, TypeError, OverflowError):
        return ""


def _url(name: str, *args: Any, **kwargs: Any) -> str:
    """``{% url name arg … %}``: ``url("cases:detail", case.reference)``."""
    return reverse(name, args=args or None, kwargs=kwargs or None)


def _localize(value: Any) -> str:
    """A value as Django's engine prints ``{{ value }}``: dates in the current time zone,
    numbers and dates in the active language's format."""
    return str(localize(template_localtime(value)))


# (model, field name) -> {value: label}: Django's get_FOO_display() flattens and hashes the
# field's choices at every call (~0.1 ms; a case page shows ~10).
_CHOICE_LABELS: dict[tuple[type[Any], str], dict[Any, Any]] = {}


def _display(obj: Any, name: str) -> Any:
    """``obj.get_<name>_display()``: the label of the field's value (the value itself when
    it is not one of the choices), in the active language."""
    key = (type(obj), name)
    labels = _CHOICE_LABELS.get(key)
    if labels is None:
        field = obj._meta.get_field(name)
        labels = _CHOICE_LABELS[key] = dict(make_hashable(field.flatchoices))
    value = getattr(obj, name)
    return force_str(labels.get(make_hashable(value), value), strings_only=True)


# Each static file's URL (its hashed name from the manifest), per process: Django's static()
# spends ~30 µs on each and a page asks for ~8. Settings changed in tests start afresh.
_STATIC_URLS: dict[str, str] = {}


def _static(path: str) -> str:
    url = _STATIC_URLS.get(path)
    if url is None:
        url = _STATIC_URLS[path] = static(path)
    return url


@receiver(setting_changed)
def _forget_static_urls(*, setting: str, **kwargs: Any) -> None:
    if setting in ("STATIC_URL", "STORAGES", "DEBUG", "INSTALLED_APPS"):
        _STATIC_URLS.clear()


def _weekday(value: dt.date | None) -> str:
    """Django's ``weekday`` filter (core.templatetags.locale_formats) for a date: "Thursday
    8 January" in the active language."""
    return "" if value is None else format_day(value)


def _django_include(name: str, context: dict[str, Any]) -> SafeString:
    return SafeString(engines["django"].get_template(name).render(context))


def environment(**options: Any) -> Environment:
    options.setdefault("extensions", []).append("jinja2.ext.i18n")
    # Django keeps a template's last newline; so do these.
    options.setdefault("keep_trailing_newline", True)
    env = Environment(**options)
    # Translations are trusted text, as in Django's engine: _("…") is not escaped (Django's
    # {% translate "…" %}), and a {% trans %} block's text is not, its variables are.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _safe_gettext,
        _safe_ngettext,
        newstyle=False,
        pgettext=_safe_pgettext,
        npgettext=_safe_npgettext,
    )
    env.globals.update(
        url=_url, static=_static, django_include=_django_include, widthratio=_widthratio
    )
    env.filters.update(
        date=_date,
        timesince=django_filters.timesince_filter,
        filesizeformat=django_filters.filesizeformat,
        truncatechars=django_filters.truncatechars,
        slugify=django_filters.slugify,
        linebreaksbr=django_filters.linebreaksbr,
        localize=_localize,
        display=_display,
        weekday=_weekday,
        floatformat=django_filters.floatformat,
    )
    return env


# Each language's translations as the templates asked for them: a page asks for ~200, and
# Django's gettext looks up the active language at every call. Keyed by Django's catalogue
# object, so catalogues Django reloads (tests changing LOCALE_PATHS) start afresh.
_TRANSLATED: WeakKeyDictionary[Any, dict[str, Markup]] = WeakKeyDictionary()


def _page_gettext() -> Callable[[str], Markup]:
    language = get_language()
    if language is None:
        return _safe_gettext
    catalogue = trans_real.translation(language)
    translated = _TRANSLATED.get(catalogue)
    if translated is None:
        translated = _TRANSLATED[catalogue] = {}

    def cached(message: str) -> Markup:
        found = translated.get(message)
        if found is None:
            found = translated[message] = _safe_gettext(message)
        return found

    return cached


def page_once(request: HttpRequest) -> dict[str, Any]:
    """A context processor for the Jinja2 engine: what every page needs once, not at every
    use: the CSRF token (the backend's own is lazy and masks a fresh token each time it is
    printed) and ``gettext`` for the language of this request."""
    token = get_token(request)
    gettext_ = _page_gettext()
    return {
        "csrf_token": token,
        "csrf_input": format_html(
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token
        ),
        "gettext": gettext_,
        "_": gettext_,
    }
