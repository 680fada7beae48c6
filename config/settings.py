"""Hondana's only settings module. Every value comes from the environment.

Defaults are the embedded, single-machine setup: SQLite and files under ./data and
a Celery broker on the filesystem. Setting DATABASE_URL and REDIS_URL moves the
same code onto PostgreSQL and Redis; HONDANA_STORAGE=s3 moves files to an
S3-compatible bucket. `.env.example` lists every variable.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP

from config.env import env_bool
from config.env import env_int
from config.env import env_list
from config.env import env_path
from config.env import env_secret
from config.env import env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = env_path("HONDANA_DATA_DIR", BASE_DIR / "data")
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """Use DJANGO_SECRET_KEY, else a key generated once and kept under DATA_DIR."""
    key = env_secret("DJANGO_SECRET_KEY")
    if key:
        return key
    path = DATA_DIR / ".secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DJANGO_DEBUG", default=False)
# A self-hosted server is reached by LAN addresses and names nobody lists up front.
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["*"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "archives",
    "jobs",
    "reader",
]

MIDDLEWARE = [
    "config.faults.FaultMiddleware",  # first: a retried request runs every middleware again
    "django.middleware.security.SecurityMiddleware",
    "config.headers.PageContentSecurityPolicyMiddleware",
    "config.headers.SecureCookiesMiddleware",  # before the middleware that sets cookies
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "archives.api.middleware.ApiGateMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
APPEND_SLASH = False

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------
_sqlite_path = DATA_DIR / "hondana.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{_sqlite_path}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web process read while the worker writes; IMMEDIATE takes the
        # write lock at BEGIN so two writers queue on busy_timeout instead of failing
        # with "database is locked" half-way through a transaction.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file, not :memory:, so that a Celery worker started by the integration tests
    # opens the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-hondana.sqlite3")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT compiling costs seconds on search queries whose row estimates look large.
    # Searches dedupe and hash tens of thousands of archive ids: with the default 4 MB
    # of work_mem those spill to disk ("summer", 1,153 tags: 200 ms, 160 ms with 32 MB).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off -c work_mem=32MB"
    if env_str("HONDANA_TEST_RUN"):
        # Test runs in one checkout at the same time each get their own test database.
        DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{env_str('HONDANA_TEST_RUN')}"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    # A cache that is down or hung is served around, never waited for (config.cache):
    # one call waits at most a second, and after a failure Redis is skipped for a while.
    CACHES = {
        "default": {
            "BACKEND": "config.cache.FallbackRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("HONDANA_CACHE_PREFIX", "hondana"),
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1, "outage_pause": 5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Files ----------------------------------------------------------------------
STORAGE_BACKEND = env_str("HONDANA_STORAGE", "local")
if STORAGE_BACKEND == "s3":
    _s3 = {
        "bucket_name": env_str("S3_BUCKET", "hondana"),
        "endpoint_url": env_str("S3_ENDPOINT_URL") or None,
        "region_name": env_str("S3_REGION") or None,
        "access_key": env_secret("S3_ACCESS_KEY_ID") or None,
        "secret_key": env_secret("S3_SECRET_ACCESS_KEY") or None,
        "default_acl": None,
        "querystring_auth": True,
    }
    _archives_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**_s3, "location": "archives", "file_overwrite": False},
    }
    _thumbnails_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**_s3, "location": "thumbnails", "file_overwrite": True},
    }
    _pagecache_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**_s3, "location": "pagecache", "file_overwrite": True},
    }
    _backups_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**_s3, "location": "backups", "file_overwrite": True},
    }
elif STORAGE_BACKEND == "local":
    _archives_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(env_path("HONDANA_CONTENT_DIR", DATA_DIR / "archives"))},
    }
    _thumbnails_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": str(env_path("HONDANA_THUMBNAIL_DIR", DATA_DIR / "thumbnails")),
            "allow_overwrite": True,
        },
    }
    _pagecache_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": str(env_path("HONDANA_PAGECACHE_DIR", DATA_DIR / "pagecache")),
            "allow_overwrite": True,
        },
    }
    # JSON backups made by backup_json jobs (POST /api/database/backup).
    _backups_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(DATA_DIR / "backups"), "allow_overwrite": True},
    }
else:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"HONDANA_STORAGE must be 'local' or 's3', got {STORAGE_BACKEND!r}")

STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(DATA_DIR / "media")},
    },
    "archives": _archives_storage,
    "thumbnails": _thumbnails_storage,
    "pagecache": _pagecache_storage,
    "backups": _backups_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]

# Uploads are always spooled to disk next to the archives (same filesystem, so the
# final move is a rename), never held in memory.
FILE_UPLOAD_TEMP_DIR = DATA_DIR / "tmp"
FILE_UPLOAD_TEMP_DIR.mkdir(parents=True, exist_ok=True)
FILE_UPLOAD_MAX_MEMORY_SIZE = 0
FILE_UPLOAD_PERMISSIONS = 0o644

# --- API ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["archives.api.render.LrrJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "archives.api.errors.exception_handler",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "archives.api.render.IgnoreAcceptNegotiation",
}

# The raw API key and first admin password; when unset, first run generates them.
HONDANA_API_KEY = env_secret("HONDANA_API_KEY")
HONDANA_ADMIN_PASSWORD = env_secret("HONDANA_ADMIN_PASSWORD")
HONDANA_ADMIN_USER = env_str("HONDANA_ADMIN_USER", "admin")
# Version reported by /api/info: the LANraragi release whose API we speak, so that
# clients which gate features on it enable them.
HONDANA_LRR_VERSION = "0.9.81"
HONDANA_LRR_VERSION_NAME = "Atomica"
HONDANA_MAX_MEMBER_BYTES = env_int("HONDANA_MAX_MEMBER_BYTES", 256 * 1024 * 1024, minimum=1)
HONDANA_MAX_MEMBERS = env_int("HONDANA_MAX_MEMBERS", 100_000, minimum=1)
# Largest image decoded, in pixels, for a thumbnail or a resized page (JPEGs count at
# the reduced scale they decode at); bigger ones get the placeholder thumbnail and
# are served unresized. One decode holds up to 4 bytes a pixel (RGBA), and 2 web
# workers x 8 threads may decode at once: 40 MP is 160 MB a decode. It covers a
# 600-dpi A4 scan (35 MP) and an 800-px-wide webtoon strip up to 50000 px long.
# PDF pages render within the same budget (formats.Limits.max_pdf_pixels). Above
# about 179 MP, Pillow's own limit refuses an image whatever this says.
HONDANA_MAX_IMAGE_PIXELS = env_int("HONDANA_MAX_IMAGE_PIXELS", 40_000_000, minimum=1_000_000)

# --- Celery ---------------------------------------------------------------------
_broker_dir = DATA_DIR / "broker"
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
if not REDIS_URL:
    # kombu's own filesystem transport can hand a worker a half-written message; this
    # one writes by rename and claims by rename. kombu refuses an import path as a URL
    # scheme, and an explicit transport wins over the URL's.
    CELERY_BROKER_TRANSPORT = "jobs.broker:Transport"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # kombu polls the folder once a second by default: a queued cover or unpack
        # would wait up to a second before any worker sees it.
        "polling_interval": 0.1,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True  # results live on Job rows
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker child that grew past this (KiB) is replaced after its task, so memory
# stays flat across a library-wide thumbnail run whatever Pillow's allocator does.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env_int("HONDANA_WORKER_MAX_MEMORY_KB", 400_000, minimum=50_000)
CELERY_TASK_TIME_LIMIT = env_int("HONDANA_TASK_TIME_LIMIT", 3600, minimum=10)
CELERY_TASK_ALWAYS_EAGER = env_bool("HONDANA_TASKS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker whose broker went away keeps trying to reconnect for as long as it takes
# (Celery's default gives up after 100 tries and exits).
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Publishing happens after the caller's data is committed, and a job that could not
# be published waits in the database for the sweep: fail fast instead of blocking
# the request on a broker that is down.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_BROKER_CONNECTION_TIMEOUT = 3
# Tests give each process its own queue so that parallel runs never share workers.
CELERY_TASK_DEFAULT_QUEUE = env_str("HONDANA_QUEUE", "hondana")
# A running job stamps its row every HEARTBEAT seconds; one silent for LOST_AFTER
# seconds lost its worker and is requeued or failed. Every REAP_EVERY seconds each
# worker looks for such jobs and sends again the messages that never reached a worker.
HONDANA_JOB_HEARTBEAT = env_int("HONDANA_JOB_HEARTBEAT", 10, minimum=1)
HONDANA_JOB_LOST_AFTER = env_int("HONDANA_JOB_LOST_AFTER", 60, minimum=2)
HONDANA_JOB_REAP_EVERY = env_int("HONDANA_JOB_REAP_EVERY", 30, minimum=1)
# A job whose message reached the broker this many seconds ago but that no worker
# took, while the queue is empty, is sent again (the message was lost with a broker
# restart). A failed run waits RETRY_DELAY + retries**4 seconds before the next.
HONDANA_JOB_REPUBLISH_AFTER = env_int("HONDANA_JOB_REPUBLISH_AFTER", 60, minimum=1)
HONDANA_JOB_RETRY_DELAY = env_int("HONDANA_JOB_RETRY_DELAY", 15, minimum=0)
# The file watcher (LANraragi's Shinobu): each worker scans the content folder for
# new, changed and removed files this often, in seconds; 0 turns it off.
HONDANA_WATCH_INTERVAL = env_int("HONDANA_WATCH_INTERVAL", 60, minimum=0)
# Largest file POST /api/download_url fetches (bytes).
HONDANA_DOWNLOAD_MAX_BYTES = env_int("HONDANA_DOWNLOAD_MAX_BYTES", 4 * 1024**3, minimum=1)


def _download_networks(items: list[str]) -> list[str]:
    """HONDANA_DOWNLOAD_ALLOW_NETWORKS's CIDRs (a bare address is a /32 or /128), normalised."""
    from ipaddress import ip_network

    from django.core.exceptions import ImproperlyConfigured

    networks = []
    for item in items:
        try:
            networks.append(str(ip_network(item)))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"HONDANA_DOWNLOAD_ALLOW_NETWORKS: {item!r} is not a network in CIDR form ({exc})"
            ) from None
    return networks


# Networks that are not public which POST /api/download_url may still fetch from (a
# NAS on the LAN). Empty: public addresses only, see archives/netguard.py.
HONDANA_DOWNLOAD_ALLOW_NETWORKS = _download_networks(env_list("HONDANA_DOWNLOAD_ALLOW_NETWORKS"))

# --- Auth, security, i18n ---------------------------------------------------------
LOGIN_URL = "/login"
LOGIN_REDIRECT_URL = "/"
SESSION_COOKIE_AGE = 24 * 3600 * 30
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("HONDANA_BEHIND_TLS_PROXY") else None
# Cookies set over HTTPS (directly or through the proxy above) are marked Secure per
# request by config.headers.SecureCookiesMiddleware: the same server is often reached
# over plain HTTP on the LAN too. HONDANA_HTTPS_ONLY says it never is, and makes the
# flag constant. HSTS is sent only on HTTPS responses, and only when asked for.
HONDANA_HTTPS_ONLY = env_bool("HONDANA_HTTPS_ONLY")
SESSION_COOKIE_SECURE = HONDANA_HTTPS_ONLY
CSRF_COOKIE_SECURE = HONDANA_HTTPS_ONLY
# The pages read the CSRF token from their <meta name="csrf-token">, never the cookie.
CSRF_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env_int("HONDANA_HSTS_SECONDS", 0, minimum=0)
# Django's defaults, pinned: tests/security/test_headers.py checks them.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"  # as frame-ancestors below; no page is meant to be framed
# The web pages load only their own scripts, styles and images: no inline <script>,
# event handler attribute or style attribute (data reaches the scripts through
# json_script and data- attributes). Sent on HTML responses only, the admin's
# included (config.headers.PageContentSecurityPolicyMiddleware). The nonce appears
# only on pages that ask for one: Django's CSRF failure page styles itself with it.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
# Wrong passwords (/login, /admin/login/) and wrong API keys, counted per user name and
# per client address in windows of these many seconds; past a limit, every attempt is
# refused unchecked until the window ends (archives/throttle.py).
HONDANA_LOGIN_FAILURES_PER_USER = env_int("HONDANA_LOGIN_FAILURES_PER_USER", 5, minimum=1)
HONDANA_LOGIN_FAILURES_PER_ADDRESS = env_int("HONDANA_LOGIN_FAILURES_PER_ADDRESS", 20, minimum=1)
HONDANA_LOGIN_WINDOW = env_int("HONDANA_LOGIN_WINDOW", 900, minimum=1)
HONDANA_API_KEY_FAILURES_PER_ADDRESS = env_int("HONDANA_API_KEY_FAILURES_PER_ADDRESS", 20, minimum=1)
HONDANA_API_KEY_WINDOW = env_int("HONDANA_API_KEY_WINDOW", 300, minimum=1)
# How many reverse proxies in front of the server append the client's address to
# X-Forwarded-For. 0: the header is ignored and the client is REMOTE_ADDR.
HONDANA_TRUSTED_PROXIES = env_int("HONDANA_TRUSTED_PROXIES", 0, minimum=0)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TZ", "UTC") or "UTC"
USE_I18N = False
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("HONDANA_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
