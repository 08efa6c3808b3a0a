"""Settings for NASOVCF Clinic. Everything that differs between machines comes from the environment:

DJANGO_SECRET_KEY     secret key; when unset, one is generated on first run and kept in var/
DJANGO_DEBUG          "1"/"true" turns debug on; off unless set
DJANGO_ALLOWED_HOSTS  comma-separated host names (default: 127.0.0.1,localhost)
DATABASE_URL          e.g. postgres://user:pass@host/db (default: SQLite file var/nasovcf.sqlite3)
DJANGO_HTTPS          "1" when served behind TLS: secure cookies, HSTS, redirect to https
NASOVCF_TRUSTED_PROXIES  how many reverse proxies in front of gunicorn append to X-Forwarded-For (default 0)
DJANGO_TIME_ZONE      the clinic's time zone for dates shown and "today" (default: UTC)
DJANGO_STATIC_ROOT    where collectstatic writes the static files (default: staticfiles/, not var/)
NASOVCF_VAR_DIR       the app's data directory, mode 0700 (default: var/)
NASOVCF_IMPORT_MAX_MB the largest table the import page takes, in MB (default 25)
NASOVCF_IMPORT_PROCESSES  at most this many processes check a large import (default 4; one per core)
NASOVCF_FILM_MAX_MB   the largest radiograph (DICOM, PNG, JPEG) the upload takes, in MB (default 100)
NASOVCF_FILM_MAX_MEGAPIXELS  the largest image decoded, in megapixels (default 60)
NASOVCF_FILM_DECODE_SECONDS  a film's decoding is stopped after this many seconds (default 20)
NASOVCF_FILM_DECODE_MEMORY_MB  and refused beyond this much memory (default 3072)
DICOMWEB_URL          the PACS's DICOMweb root (e.g. http://pacs:8042/dicom-web); unset: upload only
DICOMWEB_USER, DICOMWEB_PASSWORD  HTTP basic authentication for the PACS, if it needs it
DICOMWEB_TIMEOUT_SECONDS  how long one PACS request may take (default 20)
"""

import datetime
import os
import secrets
from pathlib import Path

import dj_database_url
import xstatic.pkg.bootstrap
from django.core.exceptions import ImproperlyConfigured

from nasovcf_site.private_files import private_directory, private_sqlite_database

BASE_DIR = Path(__file__).resolve().parent.parent
# The database, its backups and the keys live here: the app's own user alone may enter (0700).
VAR_DIR = Path(os.environ.get("NASOVCF_VAR_DIR", BASE_DIR / "var"))
private_directory(VAR_DIR)

TRUE_WORDS = {"1", "true", "yes", "on"}


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in TRUE_WORDS


def _secret_key() -> str:
    """The key from the environment, else the one kept in var/ (made on first run, mode 0600)."""
    from_env = os.environ.get("DJANGO_SECRET_KEY")
    if from_env:
        return from_env
    key_file = VAR_DIR / "secret_key"
    try:
        return key_file.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(50)
        # O_EXCL: when two workers start at once, only one writes; the other reads its key.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return key_file.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key


SECRET_KEY = _secret_key()
DEBUG = env_flag("DJANGO_DEBUG")
ALLOWED_HOSTS = [
    host.strip() for host in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if host.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "simple_history",
    "axes",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "scoring",
    "cohort",
    "tools",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below whitenoise: only the app's own responses (not static files) pass through these.
    "nasovcf_site.middleware.NoStoreMiddleware",
    "csp.middleware.CSPMiddleware",
    # 400 for a request whose client address is missing or not an IP (see NASOVCF_TRUSTED_PROXIES).
    "nasovcf_site.middleware.ClientAddressMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the cookie the switch sets, else the browser's Accept-Language (issue 16).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A signed-in user's own language (chosen with the switch) wins over the cookie and the browser.
    "nasovcf_site.i18n.UserLanguageMiddleware",
    # Idle sign-out after NASOVCF_IDLE_MINUTES, and at most NASOVCF_SESSION_HOURS in all.
    "nasovcf_site.middleware.SessionTimeoutMiddleware",
    # Every view needs a signed-in user unless marked @login_not_required.
    "nasovcf_site.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Who made each change, for the audit trail (django-simple-history).
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: locks out repeated failed sign-ins.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "nasovcf_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "scoring.context_processors.worklist",
                "nasovcf_site.i18n.language_switch",
            ],
        },
    },
]

WSGI_APPLICATION = "nasovcf_site.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'nasovcf.sqlite3'}",
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several gunicorn workers write at once: WAL lets readers go on while one writes; IMMEDIATE
    # takes the write lock when a transaction starts, so a reader never has to upgrade to a
    # writer mid-transaction (which fails at once with "database is locked"), and the timeout
    # makes a writer wait its turn instead of failing (Django's SQLite notes).
    DATABASES["default"]["CONN_MAX_AGE"] = 0 if DEBUG else DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=20000;"
        ),
    }
    # Made 0600 before SQLite opens it; its -wal and -shm files take the same mode.
    private_sqlite_database(DATABASES["default"]["NAME"])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "scoring:patient_list"
LOGOUT_REDIRECT_URL = "login"

# English and Simplified Chinese (issue 16). A first visit follows the browser's Accept-Language
# (LocaleMiddleware); the switch in the navigation bar sets the language cookie and, for a signed-in
# user, remembers the choice (scoring.models.UserLanguage), which wins from the next sign-in on
# (nasovcf_site.i18n.UserLanguageMiddleware). The catalogue is locale/zh_Hans/LC_MESSAGES; its
# compiled .mo files are committed, so `make run` needs no gettext tools.
LANGUAGE_CODE = "en-gb"
LANGUAGES = [("en-gb", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# English keeps its ISO dates (Y-m-d) as SHORT_DATE_FORMAT; Chinese uses Django's (2026年12月2日).
FORMAT_MODULE_PATH = ["nasovcf_site.formats"]
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Not patient data, and the web server in front (deploy/nginx.conf) reads it: kept out of var/.
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Bootstrap's own files, from the XStatic-Bootstrap package: never a CDN (offline hospitals).
    ("bootstrap", xstatic.pkg.bootstrap.BASE_DIR),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Sessions (issue: automatic logoff): signed out after this many minutes without a request, and
# after this many hours whatever happens; a new session key at sign-in, the session deleted at
# sign-out (Django's own behaviour).
NASOVCF_IDLE_MINUTES = int(os.environ.get("NASOVCF_IDLE_MINUTES", "15"))
NASOVCF_SESSION_HOURS = int(os.environ.get("NASOVCF_SESSION_HOURS", "12"))
SESSION_COOKIE_AGE = NASOVCF_IDLE_MINUTES * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"

# A strict Content Security Policy (django-csp): our own files only, no inline script or style.
# img-src allows data: because Bootstrap's stylesheet draws its form controls with data: SVGs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# Brute force (django-axes): 5 failed sign-ins for one username from one address lock that pair
# for 15 minutes; other users and other addresses are not locked.
# The audit trail says why a record changed (an archive reason, what a new reader did to an
# outcome): more than the default 100 characters.
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_VERBOSE = True
AXES_CLIENT_IP_CALLABLE = "nasovcf_site.middleware.client_ip"
# What axes keeps as the username tried: the name if such an account exists, else a short keyed tag,
# so a password typed into the username box is never stored (AccessAttempt, AccessFailureLog).
AXES_USERNAME_CALLABLE = "nasovcf_site.accounts.axes_username"
# How many reverse proxies in front of gunicorn append to X-Forwarded-For (deploy/: nginx, so 1).
# With 0 the header is ignored and the client is the socket's peer; with N, it is the N-th entry
# from the right, the one the outermost trusted proxy wrote (nasovcf_site.middleware.client_ip).
# Independent of DJANGO_HTTPS: TLS says nothing about who wrote the header.
try:
    NASOVCF_TRUSTED_PROXIES = int(os.environ.get("NASOVCF_TRUSTED_PROXIES") or "0")
except ValueError:
    NASOVCF_TRUSTED_PROXIES = -1
if NASOVCF_TRUSTED_PROXIES < 0:
    raise ImproperlyConfigured(
        "NASOVCF_TRUSTED_PROXIES must be a whole number, 0 or more: how many reverse proxies in front of "
        "gunicorn append to X-Forwarded-For (0 when gunicorn faces the clients, 1 behind one nginx)."
    )
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

if env_flag("DJANGO_HTTPS"):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Patient data stays out of logs: requests are logged by path and status only (see
# gunicorn.conf.py: no query strings, where searches by name or MRN would show).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "nasovcf": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "axes": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        # The DICOMweb client logs its request URLs (an MRN in the query) at DEBUG and UIDs at INFO:
        # never below WARNING, whatever the root logger is set to.
        "dicomweb_client": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "urllib3": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

# The list pages show this many rows a page.
PAGE_SIZE = 25

CSRF_FAILURE_VIEW = "nasovcf_site.errors.csrf_failure"

# Follow-up (spec §3): visits due 30, 90 and 180 days after treatment starts, each with a window
# of this many days either side; the worklist keeps a missed visit this long after its window
# closed, calls "due soon" what opens within this many days, and looks this far ahead.
NASOVCF_VISIT_WINDOW_DAYS = {"1m": 7, "3m": 14, "6m": 30}
NASOVCF_WORKLIST_OVERDUE_DAYS = 90
NASOVCF_WORKLIST_SOON_DAYS = 7
NASOVCF_WORKLIST_AHEAD_DAYS = 28

# Background work (the cohort import), through Django's tasks framework (the django-tasks backport):
# queued in the app's own database and run by `manage.py db_worker`, which `make run` starts beside
# gunicorn and deploy/nasovcf-worker.service runs in production. No other service to install.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# The import of past patients (cohort/importing.py): the largest file the page takes (a larger
# one goes through `manage.py import_cohort`; nginx's limit for the upload follows it), and how
# many processes check a large file's rows (one per core, up to this; a file of fewer rows than
# NASOVCF_IMPORT_PARALLEL_ROWS is checked in the worker's own process).
NASOVCF_IMPORT_MAX_MB = int(os.environ.get("NASOVCF_IMPORT_MAX_MB", "25"))
NASOVCF_IMPORT_PROCESSES = int(os.environ.get("NASOVCF_IMPORT_PROCESSES", "4"))
NASOVCF_IMPORT_PARALLEL_ROWS = 5000

# Radiographs (scoring/films.py): patient data, kept under var/films (0700, files 0600) and served
# only through signed-in views. Every film is decoded once, at upload, in a child process bounded
# in time and memory, so a hostile or broken file gets a message and never takes a worker down.
NASOVCF_FILM_MAX_MB = int(os.environ.get("NASOVCF_FILM_MAX_MB", "100"))
NASOVCF_FILM_MAX_MEGAPIXELS = int(os.environ.get("NASOVCF_FILM_MAX_MEGAPIXELS", "60"))
# Below gunicorn's 30 s request timeout (gunicorn.conf.py), so the upload's answer is a message.
NASOVCF_FILM_DECODE_SECONDS = int(os.environ.get("NASOVCF_FILM_DECODE_SECONDS", "20"))
# An upload above 2.5 MB waits in a temporary file (0600) until it is checked: under var/, not /tmp.
FILE_UPLOAD_TEMP_DIR = str(VAR_DIR / "uploads")
private_directory(VAR_DIR / "uploads")
NASOVCF_FILM_DECODE_MEMORY_MB = int(os.environ.get("NASOVCF_FILM_DECODE_MEMORY_MB", "3072"))
FILMS_DIR = VAR_DIR / "films"

# The hospital's PACS over DICOMweb (scoring/pacs.py): QIDO-RS finds a patient's studies by MRN,
# WADO-RS fetches the lateral film. Unset: films are uploaded, and no PACS is asked.
DICOMWEB_URL = os.environ.get("DICOMWEB_URL", "").rstrip("/")
DICOMWEB_USER = os.environ.get("DICOMWEB_USER", "")
DICOMWEB_PASSWORD = os.environ.get("DICOMWEB_PASSWORD", "")
DICOMWEB_TIMEOUT_SECONDS = int(os.environ.get("DICOMWEB_TIMEOUT_SECONDS", "20"))

# Flash messages name patients (MRNs): keep them server-side, not in a cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# The benchmark's floor page (manage.py bench): off unless the benchmark turns it on.
NASOVCF_BENCH_FLOOR = env_flag("NASOVCF_BENCH_FLOOR")

# The clinical pages use no cache: every one reads the database, so any number of app servers on one
# database agree (bench/report.md measures them without one).

# The one cache: the cohort report (cohort/report.py), whose statistics and plots take seconds at
# 20,000 fractures (bench/cohort.md). Its key holds the data's version (the newest history row of
# patients, fractures and visits), the app's and the rules' versions and the filter, so any change
# makes a new entry and a stale one is never read. Files under var/cohort-cache (0700; each file 0600):
# aggregates only, no name or MRN. Each app server keeps its own.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "cohort": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cohort-cache"),
        "TIMEOUT": 7 * 24 * 3600,
        "OPTIONS": {"MAX_ENTRIES": 200},
    },
}
