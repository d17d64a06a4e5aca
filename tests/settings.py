"""Test settings: only speed and isolation differ from production."""

import os
import tempfile

os.environ.setdefault("CHERISH_DATA_DIR", tempfile.mkdtemp(prefix="cherish-test-"))
os.environ.setdefault("CHERISH_SECRET_KEY", "test-secret-key-not-for-production-use-0123456789")

from cherish.settings import *  # noqa: F403
from cherish.settings import DATABASES

_pg = os.environ.get("CHERISH_TEST_DATABASE_URL")
if _pg:
    import dj_database_url

    DATABASES["default"] = dj_database_url.parse(_pg)
    # One test database per run, so parallel runs on one server never trample each other.
    DATABASES["default"]["TEST"] = {"NAME": f"test_cherish_{os.getpid()}"}
    # The test process's commits do not wait for the WAL to reach the disk (what another
    # connection sees is unchanged; only a server crash could lose them): 100 commits took
    # 1.41 s with the flush, 0.18 s without (2026-12-02 01:30, load average 16). Every
    # transactional test's flush and post_migrate commit some fifty times.
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        "options": "-c synchronous_commit=off",
    }
else:
    # A file rather than :memory:, so live-server and SMTP threads get connections of their
    # own and concurrency tests meet real SQLite locking (IMMEDIATE + busy_timeout) instead
    # of sharing one connection across threads.
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.mkdtemp(prefix="cherish-testdb-"), "test.sqlite3")
    }

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
ALLOWED_HOSTS = ["*"]
# Tests sign administrators in with force_login (no second factor); tests/staff/
# test_two_factor.py turns the requirement back on to test it.
CHERISH_REQUIRE_TWO_FACTOR_FOR_ADMINISTRATORS = False
