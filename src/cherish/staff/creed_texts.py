"""The creed a new installation starts with (migration 0005 seeds it in English): until the
organisation changes it, every page shows it in the page's language, through the catalogues
(customer-facing: core.catalogues checks it in every language the public pages speak)."""

from __future__ import annotations

from django.utils.translation import gettext_noop

BUILTIN_CREED = (
    gettext_noop("We listen first, and we believe you."),
    gettext_noop("One person owns your complaint from start to finish."),
    gettext_noop("We put it right, and then a little more."),
    gettext_noop("We keep every promise we make, or tell you before it is due."),
    gettext_noop("We learn from what you tell us, and we show you what changed."),
)
