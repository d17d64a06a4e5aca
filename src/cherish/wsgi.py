"""The WSGI application gunicorn serves (``cherish serve``), loaded once in each worker."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cherish.settings")
from cherish.core.handlers import make_application

application = make_application()

from cherish.core.webserver import settle  # noqa: E402 - needs the application loaded

settle()
