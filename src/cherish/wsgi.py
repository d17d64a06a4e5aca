"""The WSGI application gunicorn serves (``cherish serve``), loaded once in each worker."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cherish.settings")
application = get_wsgi_application()

from cherish.core.webserver import settle  # noqa: E402 - needs the application loaded

settle()
