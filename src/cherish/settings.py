"""Django settings for Cherish, driven by ``CHERISH_*`` variables (see env.py)."""

from __future__ import annotations

from pathlib import Path

import dj_database_url

from cherish import env

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = env.data_dir()
MEDIA_ROOT = DATA_DIR / "files"
RAW_STORE_DIR = DATA_DIR / "raw"

SECRET_KEY = env.secret_key(DATA_DIR)
DEBUG = env.get_bool("DEBUG", False)
ALLOWED_HOSTS = env.get_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.get_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "cherish.staff.admin_apps.CherishAdminConfig",  # django.contrib.admin, audited
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "mozilla_django_oidc",
    # Cherish apps, in dependency order (see ARCHITECTURE.md).
    "cherish.core",
    "cherish.outbox",
    "cherish.staff",
    "cherish.customers",
    "cherish.cases",
    "cherish.intake",
    "cherish.triage",
    "cherish.care",
    "cherish.outreach",
    "cherish.feedback",
    "cherish.scorecard",
    "cherish.learning",
    "cherish.desk",
    "cherish.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of every page: the visitor's explicit choice (the switcher's cookie), else
    # their browser's Accept-Language; the customer's page then prefers the language we
    # remembered for the customer (cherish.core.i18n).
    "django.middleware.locale.LocaleMiddleware",
    # ... except the API's, which is English (what the test client runs for /api/ too).
    "cherish.core.middleware.ApiLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): signed in with a second factor (django-otp).
    "django_otp.middleware.OTPMiddleware",
    # Administrators (or everyone, by organisation policy) enrol a second factor first.
    "cherish.staff.twofactor.TwoFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "cherish.core.middleware.ContentSecurityPolicyMiddleware",
    # Last, so it sees a view's exception first: storage failures become 503/507.
    "cherish.core.unavailable.StorageTroubleMiddleware",
]

# The API's endpoints (/api/) authenticate every request by its key (Bearer), never by a
# session: they run under these alone (cherish.core.handlers), without the session, CSRF,
# sign-in, second-factor, flash-message and HTMX middleware the browser's pages need, which
# were a fifth of an API request's CPU (issue #14). The headers stay; the language is English
# (core.middleware.ApiLanguageMiddleware).
API_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "cherish.core.middleware.ApiLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "cherish.core.middleware.ContentSecurityPolicyMiddleware",
    "cherish.core.unavailable.StorageTroubleMiddleware",
]

# The public complaint form (/complain/ and its thank-you page): nobody is signed in there.
# The same without the session, sign-in, second-factor, flash-message and HTMX middleware;
# its CSRF check stays.
PUBLIC_FORM_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "cherish.core.middleware.ContentSecurityPolicyMiddleware",
    "cherish.core.unavailable.StorageTroubleMiddleware",
]

ROOT_URLCONF = "cherish.urls"
WSGI_APPLICATION = "cherish.wsgi.application"
ASGI_APPLICATION = "cherish.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cherish.core.context_processors.cherish",
            ],
        },
    },
    # The case page (cherish.core.jinja): the same context, templates under <app>/jinja2/.
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "NAME": "jinja2",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "environment": "cherish.core.jinja.environment",
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cherish.core.context_processors.cherish",
                "cherish.core.jinja.page_once",
            ],
        },
    },
]

_default_db = f"sqlite:///{DATA_DIR / 'cherish.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        env.get("DATABASE_URL", _default_db), conn_max_age=60, conn_health_checks=True
    ),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN
    # so two writers queue on busy_timeout instead of failing with "database is locked".
    # Keep connections: reopening one per request (and the WAL checkpoint that closing the
    # last connection forces) cost a quarter of the CPU per complaint in bench_intake.
    # synchronous=FULL: in WAL mode NORMAL may lose the last commits on a power cut or an OS
    # crash, and a complaint we acknowledged must survive both (CHERISH_SQLITE_SYNCHRONOUS
    # may lower it where the disk's own cache is battery-backed; docs/reliability.md).
    # The engine is Django's SQLite backend plus a writer queue (core.backends.sqlite3): a
    # thread waiting to write is woken the moment the writer before it commits, instead of
    # sleeping in SQLite's busy handler.
    # cache_size=-2000 (2 MiB, SQLite's default): each thread of a web worker holds its own
    # connection, and a connection's page cache is anonymous memory kept until it closes. At
    # 64 MB each (before issue #14), four request threads and the intake applier filled up to
    # 320 MB with the pages of a 1M-case database beyond the 256 MB map; a worker's RssAnon
    # went from 85 to 152 MiB over one pass of the inbox views (bench/README.md "Worker
    # memory at 1M cases, page by page"). The desk's CPU per page was the same with 2 MiB.
    # 500 KiB since 2026-12-02: with 8 clients at once on every desk page at 1M, a web worker
    # peaked at 132 MiB with 2 MiB caches and 121 with 500 KiB, and the desk's CPU per page
    # at 1M was the same (bench/README.md, issue #14.3). CHERISH_SQLITE_CACHE_KIB and
    # CHERISH_SQLITE_MMAP_BYTES change them.
    DATABASES["default"]["ENGINE"] = "cherish.core.backends.sqlite3"
    DATABASES["default"]["CONN_MAX_AGE"] = 60
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        # Prepared statements kept per connection (Python's default 128): each holds memory
        # for as long as its connection lives, and a web worker has nine connections. With 8
        # clients at once on every desk page at 1M cases a worker peaked at 120.4 MiB RssAnon
        # with 128 and 107.1 with 32; the desk's CPU per page at 1M was the same within the
        # noise (bench/README.md, 2026-12-02, issue #14.3).
        "cached_statements": env.get_int("SQLITE_CACHED_STATEMENTS", 32),
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync}; PRAGMA busy_timeout=20000;"
            " PRAGMA foreign_keys=ON; PRAGMA cache_size=-{cache}; PRAGMA mmap_size={mmap};"
        ).format(
            sync=env.get_choice("SQLITE_SYNCHRONOUS", ["FULL", "NORMAL", "EXTRA"], "FULL"),
            cache=env.get_int("SQLITE_CACHE_KIB", 500),
            mmap=env.get_int("SQLITE_MMAP_BYTES", 268435456),
        ),
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "desk:inbox"

# Single sign-on over OpenID Connect (staff/oidc.py): on when a client id is set. Staff are
# matched to existing accounts by verified email; nobody is created.
OIDC_RP_CLIENT_ID = env.get("OIDC_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env.get("OIDC_CLIENT_SECRET")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.get("OIDC_AUTHORIZATION_ENDPOINT")
OIDC_OP_TOKEN_ENDPOINT = env.get("OIDC_TOKEN_ENDPOINT")
OIDC_OP_USER_ENDPOINT = env.get("OIDC_USERINFO_ENDPOINT")
OIDC_OP_JWKS_ENDPOINT = env.get("OIDC_JWKS_ENDPOINT")
OIDC_RP_SIGN_ALGO = env.get("OIDC_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = "openid email profile"
OIDC_CREATE_USER = False
OIDC_USE_PKCE = True
OIDC_CALLBACK_CLASS = "cherish.staff.oidc.StaffOIDCCallbackView"
LOGIN_REDIRECT_URL_FAILURE = "/login/?sso=failed"
# The button on the sign-in page: "Sign in with ...".
CHERISH_OIDC_PROVIDER_NAME = env.get("OIDC_PROVIDER_NAME", "your organisation's account")
# Django's ModelBackend with the user read by a prepared statement (cherish.staff.backends).
AUTHENTICATION_BACKENDS = ["cherish.staff.backends.ModelBackend"]
if OIDC_RP_CLIENT_ID:
    AUTHENTICATION_BACKENDS.append("cherish.staff.oidc.StaffOIDCBackend")
LOGOUT_REDIRECT_URL = "core:login"

LANGUAGE_CODE = "en"
# Every customer-facing page and email exists in these languages (compiled catalogues in
# src/cherish/locale, tests/core/test_i18n.py keeps them complete); the staff desk is
# complete in English and German.
LANGUAGES = [
    ("en", "English"),
    ("de", "Deutsch"),
    ("fr", "Français"),
    ("es", "Español"),
    ("nl", "Nederlands"),
    ("pt", "Português"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates and numbers follow the active language (Django's locale formats); English is British.
FORMAT_MODULE_PATH = ["cherish.formats"]
LANGUAGE_COOKIE_NAME = "cherish_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = env.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Attachments are never served from a public URL: MEDIA_URL points nowhere routable and
# every download goes through an access-checked view.
MEDIA_URL = "/_private_media/"

# Upload limits: attachments are checked again by the intake forms with clear messages.
DATA_UPLOAD_MAX_MEMORY_SIZE = 30 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
CHERISH_MAX_ATTACHMENT_BYTES = env.get_int("MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024)
CHERISH_MAX_ATTACHMENTS = 5
CHERISH_MAX_TEXT_CHARS = 20_000
# A customer's link to their own case page works this many days after the last message we
# sent them; every message renews it (cherish.cases.outgoing).
CHERISH_CUSTOMER_LINK_DAYS = env.get_int("CUSTOMER_LINK_DAYS", 90)

# Django's database sessions, read with a prepared statement (cherish.core.sessions).
SESSION_ENGINE = "cherish.core.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if env.get_bool("HTTPS", False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.get_bool("SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env.get_int("HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env.get("REDIS_URL")}
        if env.get("REDIS_URL")
        else {
            # A database cache is shared by every process on the machine, so rate limits and
            # login throttling hold across gunicorn workers without Redis.
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "cherish_cache",
        }
    )
}

TASKS = {
    "default": (
        {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}
        if env.get("TASK_BACKEND") == "rq"
        else {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    )
}
if env.get("TASK_BACKEND") == "rq":
    INSTALLED_APPS.append("django_rq")
RQ_QUEUES = {"default": {"URL": env.get("REDIS_URL", "redis://127.0.0.1:6379/0")}}

EMAIL_URL = env.get("EMAIL_URL", "smtp://127.0.0.1:1025")
DEFAULT_FROM_EMAIL = env.get("FROM_EMAIL", "care@cherish.example.com")
CHERISH_INBOUND_ADDRESSES = env.get_list("INBOUND_ADDRESSES", [DEFAULT_FROM_EMAIL])
CHERISH_SMTP_HOST = env.get("SMTP_HOST", "127.0.0.1")
CHERISH_SMTP_PORT = env.get_int("SMTP_PORT", 2525)
CHERISH_IMAP_URL = env.get("IMAP_URL")
CHERISH_SMTP_MAX_MESSAGE_BYTES = env.get_int("SMTP_MAX_MESSAGE_BYTES", 35 * 1024 * 1024)
CHERISH_CURRENCY = env.get("CURRENCY", "GBP")
# How often (hours) a customer hears from us, unasked, while their case is open, by kind and
# severity; 0 or missing: never. Rows of care.StatusUpdateInterval (admin) override these.
CHERISH_STATUS_UPDATE_HOURS: dict[str, dict[str, int]] = {
    "complaint": {"critical": 24, "high": 48, "normal": 72, "low": 120},
    "inquiry": {"critical": 24, "high": 48, "normal": 96, "low": 168},
    "suggestion": {"critical": 168, "high": 168, "normal": 336, "low": 336},
    "compliment": {},
}
CHERISH_ORG_NAME = env.get("ORG_NAME", "Cherish Demo Company")
# How often the desk's live parts (notifications badge, inbox, case page presence) poll.
CHERISH_DESK_POLL_SECONDS = env.get_int("DESK_POLL_SECONDS", 10)

# Spam defence on the public pages.
CHERISH_PUBLIC_RATE_LIMIT = env.get_int("PUBLIC_RATE_LIMIT", 10)  # submissions per IP per hour
# Failed sign-ins per 15 minutes: per account (username typed), and per client address (much
# higher: a whole office may sit behind one proxy address).
CHERISH_LOGIN_FAILURE_LIMIT = env.get_int("LOGIN_FAILURE_LIMIT", 5)
CHERISH_LOGIN_ADDRESS_FAILURE_LIMIT = env.get_int("LOGIN_ADDRESS_FAILURE_LIMIT", 100)
# Two-factor sign-in (staff/twofactor.py): administrators must use it; the organisation
# policy can require it of everyone. The issuer is the name authenticator apps show.
CHERISH_REQUIRE_TWO_FACTOR_FOR_ADMINISTRATORS = env.get_bool(
    "REQUIRE_TWO_FACTOR_FOR_ADMINISTRATORS", True
)
OTP_TOTP_ISSUER = env.get("ORG_NAME", "Cherish")
# Reverse proxies (addresses or networks) whose X-Forwarded-For is believed: core.client.
CHERISH_TRUSTED_PROXIES = env.get_list("TRUSTED_PROXIES", [])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Steps run in order, in one background task, after every contact accepted by
# intake.accept_contact, each called as step(message_id, opened). Triage comes first so care's
# respond step (acknowledge a new case, resume one waiting on the customer) follows the kind.
# Apps that react to new messages are named here rather than imported by intake.
CHERISH_INTAKE_FOLLOW_ON: list[str] = env.get_list(
    "INTAKE_FOLLOW_ON",
    [
        "cherish.triage.tasks.triage_message_task",
        "cherish.care.tasks.respond_to_contact_task",
        "cherish.learning.tasks.assign_theme_task",
    ],
)
CHERISH_PHONE_REGION = env.get("PHONE_REGION", "GB")
# Form and API complaints without files are stored in one short transaction and added to
# their cases in batches by the intake applier (intake.applier); 0 adds each one by one.
CHERISH_INTAKE_QUEUE = env.get_bool("INTAKE_QUEUE", True)
# Where queued complaints are added to their cases: "thread", by an applier thread of the web
# process that stored them (each request waits for it); "process", by an applier process of
# its own (``cherish apply_intake --loop``, which ``cherish serve`` starts and sets this for its
# web processes): the web process only stores, the public form answers once its complaint is
# durable, and the applying runs on the machine's other core (intake.applier).
CHERISH_INTAKE_APPLIER = env.get("INTAKE_APPLIER", "thread")
# With an applier process on SQLite the public form's complaints are stored in a journal file
# of their own (intake-journal.sqlite3, with its own write lock: intake.journal), so the web
# process never waits for the applier's batches; 0 stores them in the database instead.
CHERISH_INTAKE_JOURNAL = env.get_bool("INTAKE_JOURNAL", True)

# A background job's lease (core.leases): a worker renews it every third of this while it
# works; when the worker dies the job is handed on within about this long plus a sweep.
CHERISH_TASK_LEASE_S = env.get_int("TASK_LEASE_S", 60)
# Context managers the database-queue worker enters around each group of jobs it runs in one
# transaction (core.job_worker): the outbox sends the group's emails together after commit.
CHERISH_BATCH_WORKER = env.get_bool("BATCH_WORKER", True)
CHERISH_JOB_GROUP_HOOKS: list[str] = env.get_list(
    "JOB_GROUP_HOOKS", ["cherish.outbox.actions.delivering_together"]
)

# Periodic jobs run by `cherish tick --loop` (started by `cherish serve`): (command, seconds).
# The two sweepers run often: they are what re-runs work whose worker died, and a customer
# should hear from us within minutes of a crash, not hours.
CHERISH_PERIODIC: list[tuple[str, int]] = [
    ("sweep_jobs", 20),
    # Complaints stored by a web process that died before its applier added them to a case.
    ("apply_intake", 5),
    ("sweep", 30),
    ("care_tick", 60),
    ("customer_updates", 60),
    ("outreach_tick", 300),
    ("outreach_radar", 24 * 3600),
    # Candidate duplicate customers, stored for the desk's duplicates page (reads them all).
    ("scan_duplicates", 3600),
    # Each customer's usual contact, stored for the moments page (reads every case with an
    # owner: 17.7 s of CPU at 1M cases on a loaded machine, so hourly like the duplicates).
    ("refresh_usual_contacts", 3600),
    ("purge_idempotency_keys", 3600),
    ("feedback_tick", 60),
    ("learning_tick", 300),
    ("scorecard_tick", 600),
    # Email copies of notifications for staff who asked, whether or not they are looking.
    ("desk_tick", 60),
    # The query planner's statistics (core.planner): SQLite has none until analysed.
    ("optimize_database", 3 * 3600),
]
