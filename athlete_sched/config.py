"""Configuration: defaults here, overridden by the environment (see README, "Configuration")."""

from __future__ import annotations

import os
from datetime import timedelta


def normalise_database_url(url: str) -> str:
    """Point bare postgres URLs at the psycopg 3 driver that the project installs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


DEV_SECRET_KEY = "dev-only-insecure-key"


class Config:
    # Signs the session cookies; also the default key feed tokens are derived with
    # (FEED_TOKEN_KEY: set it to the old key when changing SECRET_KEY to keep feed links).
    # Production refuses this development value (check_secret_key below).
    SECRET_KEY = DEV_SECRET_KEY
    FEED_TOKEN_KEY: str | None = None
    # None means "SQLite file in the instance folder"; create_app fills it in.
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    # Connections kept open per process: at least gunicorn's threads (deploy/gunicorn.conf.py)
    # plus the job worker's; SQLAlchemy may open 10 more for a burst.
    DATABASE_POOL_SIZE = 10
    MAX_CONTENT_LENGTH = 1024 * 1024  # 1 MiB: larger bodies get 413
    # Domain settings (domain.md): recovery gap after a finish, minimum notice for a session.
    RECOVERY_GAP_MINUTES = 60
    BOOKING_NOTICE_MINUTES = 120
    MIN_SESSION_GAP_HOURS = 48  # between sessions of different events (services/season.py)
    # Answers kept per worker process, never stale (services/cache.py); 0 turns one off.
    PROPOSALS_CACHE_SIZE = 4096  # answers (about 5 KB each at the default limit)
    PROPOSAL_SLOTS_CACHE_SIZE = 256  # slots of windows shared by events (services/proposals.py)
    PROPOSAL_EVENTS_CACHE_SIZE = 4096  # events as proposals last read them (the same)
    FEEDS_CACHE_SIZE = 256  # built calendar feeds (services/calendars.py)
    SETTINGS_CACHE_SIZE = 1  # the clinic's saved settings (services/common.py)
    SCHEDULES_CACHE_SIZE = 4  # the clinic's schedules (services/schedules.py)
    CLINIC_NAME = "athlete_sched demo clinic"
    CLINIC_EMAIL = "bookings@clinic.example"
    # Invites (core/ical.py): LOCATION is CLINIC_NAME plus this address when set; the
    # reminder (VALARM) fires this many minutes before a session (the booking notice).
    CLINIC_ADDRESS = ""
    INVITE_REMINDER_MINUTES = 120
    # The app's public address (https://book.clinic.example) for links handed out, such as
    # feed URLs; unset: taken from each request (fine without a proxy in front).
    PUBLIC_URL: str | None = None
    # The waiting list (services/waitlist.py): how long an offered slot is held for the
    # athlete it is offered to before it goes to the next in line.
    WAITLIST_HOLD_MINUTES = 30
    # Signing in to the pages (web/auth.py): cookies HttpOnly and SameSite=Lax (Secure added
    # on every HTTPS request); remember-me lasts 30 days; one-time links expire.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = timedelta(days=30)
    # Security headers and proxies (web/security.py): HSTS max-age on HTTPS answers (0: no
    # HSTS); how many reverse proxies in front set X-Forwarded-* (0: trust none).
    HSTS_SECONDS = 365 * 24 * 3600
    TRUSTED_PROXIES = 0
    # The request line and header sizes the app answers 414 / 431 for (web/request_limits.py:
    # below gunicorn's own limits, see web/gunicorn_limits.py, so the API's answer is JSON).
    REQUEST_LINE_LIMIT = 4094
    REQUEST_FIELD_LIMIT = 8190
    REQUEST_FIELDS_LIMIT = 100
    RESET_LINK_HOURS = 2
    INVITE_LINK_DAYS = 7
    # Cancelling or moving a session on the pages: athletes and coaches up to this many hours
    # before its start (domain: changes and cancellations).
    CANCEL_NOTICE_HOURS = 24
    # Busy-calendar import (services/busy.py): the largest upload or fetched body, the days
    # ahead an import covers, the total seconds a subscription fetch may take, and whether
    # subscriptions may fetch from private / loopback addresses (tests; never in production).
    CALENDAR_MAX_BYTES = 5 * 1024 * 1024
    CALENDAR_HORIZON_DAYS = 400
    CALENDAR_FETCH_TIMEOUT = 20
    CALENDAR_FETCH_PRIVATE = False
    # Subscription fetches (services/busy_fetch.py): trusted roots for https (None:
    # certifi's), and how many subscriptions `flask calendars sync` fetches at once.
    CALENDAR_FETCH_CA_BUNDLE: str | None = None
    CALENDAR_SYNC_WORKERS = 4
    # Invitations by email (services/mail.py): nothing is sent or queued while MAIL_SERVER
    # is unset. MAIL_USE_TLS = STARTTLS on MAIL_PORT; MAIL_USE_SSL = TLS from the first byte
    # (usually port 465). MAIL_SENDER (From and envelope sender) defaults to CLINIC_EMAIL.
    # MAIL_TIMEOUT: seconds per SMTP operation.
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_TIMEOUT = 10
    MAIL_SENDER: str | None = None
    # Reminders and check-ins (services/reminders.py): the local hour (athlete's zone) they
    # go out at, the day before a session and the second day after a recovery session.
    REMINDER_HOUR = 9
    # The job "mail" (services/mail.py): messages claimed per batch (one SMTP connection),
    # and how long a claim holds before another worker may send it (None: 6 x MAIL_TIMEOUT).
    MAIL_BATCH = 100
    MAIL_LEASE_SECONDS: float | None = None
    # The job queue (athlete_sched/jobs, Huey): None = SQLite in the instance folder
    # (jobs.db); redis://host:port/db = Redis, for workers on several hosts. JOBS_NAME names
    # the queue; JOBS_IMMEDIATE (None: on under TESTING) runs each task where it is enqueued.
    JOBS_URL: str | None = None
    JOBS_NAME = "athlete_sched"
    JOBS_IMMEDIATE: bool | None = None
    # Operations (README, "Operations"): GET /healthz fails when an email has waited this
    # long to be sent or a calendar subscription is this overdue; the logs (athlete_sched/
    # logs.py): LOG_FORMAT json or text (unset: json, text on a terminal outside gunicorn).
    HEALTH_MAIL_STUCK_MINUTES = 30
    HEALTH_SYNC_OVERDUE_MINUTES = 60
    HEALTH_JOBS_STUCK_MINUTES = 10  # no job round finished for this long: a worker is down
    LOG_FORMAT: str | None = None
    LOG_LEVEL = "INFO"
    # Abuse limits (web/limits.py, Flask-Limiter): None = on unless TESTING. Counts live per
    # process (memory://) unless RATELIMIT_STORAGE_URI names a shared store (redis://...),
    # which several workers or hosts need to enforce one limit. Each rule is a Flask-Limiter
    # limit string ("10 per 15 minutes; 50 per day"); empty turns that rule off.
    RATELIMIT_ENABLED: bool | None = None
    RATELIMIT_STORAGE_URI = "memory://"
    # moving-window: exact (a sliding-window counter weights the last window and lets a
    # request through right after a minute turns, however many were refused)
    RATELIMIT_STRATEGY = "moving-window"
    RATELIMIT_KEY_PREFIX = "athlete_sched"
    RATELIMIT_SIGN_IN_ACCOUNT = "10 per 15 minutes; 50 per day"  # failed, per email
    RATELIMIT_SIGN_IN_ADDRESS = "50 per 15 minutes; 500 per day"  # failed, per address
    RATELIMIT_PASSWORD_RESET_ACCOUNT = "3 per hour; 10 per day"
    RATELIMIT_PASSWORD_RESET_ADDRESS = "20 per hour"
    RATELIMIT_INVITATIONS = "60 per hour; 500 per day"  # per signed-in user
    RATELIMIT_BAD_TOKEN = "30 per minute; 300 per day"  # failed, per address
    RATELIMIT_FEED = "60 per minute; 1000 per hour"  # per feed token
    RATELIMIT_BAD_FEED_TOKEN = "30 per minute; 300 per day"  # failed, per address
    RATELIMIT_CALENDAR_UPLOADS = "20 per hour"  # per user
    RATELIMIT_PLANS = "30 per minute; 600 per hour"  # per user
    # Heavy imports (calendar uploads, subscriptions synced now): at most this many at a
    # time per host (None: 2, or no cap under TESTING; 0: no cap); a request waits this long
    # for a slot, then gets a 503. The slots are lock files in HEAVY_IMPORT_SLOTS_DIR
    # (None: the instance folder's import-slots/), shared by the processes that use it.
    HEAVY_IMPORTS_MAX: int | None = None
    HEAVY_IMPORT_SLOTS_DIR: str | None = None
    HEAVY_IMPORT_WAIT_SECONDS = 0.0  # a sync worker waiting is a worker taken
    HEAVY_IMPORT_RETRY_AFTER = 10


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-key"


def from_environment(config: dict) -> None:
    """Apply the documented environment variables on top of the defaults."""
    if os.environ.get("DATABASE_URL"):
        config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(os.environ["DATABASE_URL"])
    if os.environ.get("SECRET_KEY"):
        config["SECRET_KEY"] = os.environ["SECRET_KEY"]
    if os.environ.get("JOBS_URL"):  # plain, like DATABASE_URL (FLASK_JOBS_URL works too)
        config["JOBS_URL"] = os.environ["JOBS_URL"]
    for key in ("LOG_FORMAT", "LOG_LEVEL"):  # plain, as gunicorn's environment sets them
        if os.environ.get(key):
            config[key] = os.environ[key]
    for key, parse in MAIL_ENVIRONMENT.items():  # plain MAIL_* too (FLASK_MAIL_* works anyway)
        if os.environ.get(key):
            config[key] = parse(os.environ[key])


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


MAIL_ENVIRONMENT = {"MAIL_SERVER": str, "MAIL_PORT": int, "MAIL_USE_TLS": _flag,
                    "MAIL_USE_SSL": _flag, "MAIL_USERNAME": str, "MAIL_PASSWORD": str,
                    "MAIL_TIMEOUT": float, "MAIL_SENDER": str}


# --- production needs a real SECRET_KEY (issue 14) ------------------------------------------

MIN_SECRET_KEY_LENGTH = 32
APP_ENVIRONMENTS = ("production", "development")


class InsecureSecretKey(RuntimeError):
    """The app would serve production with the development key or a short one."""


def is_production(config: dict) -> bool:
    """Production unless said otherwise: ATHLETE_SCHED_ENV=production or development
    decides when set; else TESTING or DEBUG, or an app loaded by the `flask` command line
    (the development server `flask run`, `flask demo`, `flask db ...`, the cron commands),
    is not production. So a WSGI server (gunicorn wsgi:app) is production by default."""
    env = os.environ.get("ATHLETE_SCHED_ENV", "").strip().lower()
    if env:
        if env not in APP_ENVIRONMENTS:
            raise ValueError(f"ATHLETE_SCHED_ENV={env!r}: use one of "
                             f"{', '.join(APP_ENVIRONMENTS)}")
        return env == "production"
    if config.get("TESTING") or config.get("DEBUG"):
        return False
    return os.environ.get("FLASK_RUN_FROM_CLI") != "true"  # set by the flask command


def check_secret_key(config: dict) -> None:
    """Refuse to build a production app without a real SECRET_KEY: missing, the
    development default, or shorter than MIN_SECRET_KEY_LENGTH characters."""
    if not is_production(config):
        return
    key = config.get("SECRET_KEY") or ""
    if key == DEV_SECRET_KEY or len(key) < MIN_SECRET_KEY_LENGTH:
        raise InsecureSecretKey(
            "refusing to start in production without a real SECRET_KEY: set the "
            f"environment variable SECRET_KEY to a random value of at least "
            f"{MIN_SECRET_KEY_LENGTH} characters, e.g. $(python3 -c 'import secrets; "
            "print(secrets.token_hex(32))'), or ATHLETE_SCHED_ENV=development for a "
            "development server (README, Configuration)")
