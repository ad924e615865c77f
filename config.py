"""Settings, read from environment variables.

`MEL_CONFIG` picks the class (development, production, testing); every other setting can be
overridden by an environment variable of the same name.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
# instance/ beside this file in a checkout. An installed copy has this file inside the package in
# site-packages, which is no place for data: there Flask's own place for an installed application
# (<prefix>/var/mel_app-instance). MEL_INSTANCE_PATH overrides both.
INSTANCE_DIR = Path(
    os.environ.get("MEL_INSTANCE_PATH")
    or (
        BASE_DIR / "instance"
        if (BASE_DIR / "pyproject.toml").is_file()
        else Path(sys.prefix) / "var" / "mel_app-instance"
    )
)


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def _names(name: str, default: str) -> frozenset[str]:
    """A comma-separated list; an empty value gives the empty set."""
    value = os.environ.get(name, default)
    return frozenset(part.strip() for part in value.split(",") if part.strip())


class Config:
    NAME = "base"
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'mel_app.sqlite'}"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLALCHEMY_RECORD_QUERIES = False

    # The session bounds the CSRF token, so a report typed over two hours is never lost.
    WTF_CSRF_TIME_LIMIT = None
    WTF_CSRF_SSL_STRICT = True

    BABEL_DEFAULT_LOCALE = "en"
    # The time zone of users who have not chosen one (an IANA name; unknown names fall back to UTC).
    BABEL_DEFAULT_TIMEZONE = os.environ.get("DEFAULT_TIME_ZONE", "UTC")
    LANGUAGES = {"en": "English", "fr": "Français", "es": "Español", "pt": "Português"}

    SESSION_COOKIE_NAME = "mel_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    SESSION_IDLE_TIMEOUT = timedelta(minutes=_int("SESSION_IDLE_MINUTES", 30))
    SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=_int("SESSION_ABSOLUTE_HOURS", 12))
    REMEMBER_COOKIE_DURATION = timedelta(0)
    # A report posted after the session timed out is kept this long for its author to sign in again.
    DRAFT_STASH_HOURS = _int("DRAFT_STASH_HOURS", 2)

    # HTML and JSON gzipped by the app when the client accepts it (mel_app/compression.py); off
    # when a reverse proxy compresses instead.
    COMPRESS_RESPONSES = _bool("COMPRESS_RESPONSES", True)
    COMPRESS_LEVEL = _int("COMPRESS_LEVEL", 6)
    COMPRESS_MIN_BYTES = _int("COMPRESS_MIN_BYTES", 1024)
    # Evidence files: 10 MB each by default; the request limit leaves room for the form.
    MAX_UPLOAD_BYTES = _int("MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 4 * 10 * 1024 * 1024 + 1024 * 1024)
    MAX_FORM_MEMORY_SIZE = 2 * 1024 * 1024
    # Photos are decoded to remove their metadata: larger ones are refused before decoding
    # (50 megapixels is a 150 MB bitmap; phone cameras take 12 to 48).
    MAX_IMAGE_PIXELS = _int("MAX_IMAGE_PIXELS", 50_000_000)
    # Limits per save, checked before any file is decoded, so that one request stays well within
    # the worker's timeout (a 50-megapixel picture takes a second or two to decode and save again).
    # The bytes of a request are bounded by MAX_CONTENT_LENGTH.
    MAX_FILES_PER_REQUEST = _int("MAX_FILES_PER_REQUEST", 10)
    MAX_PIXELS_PER_REQUEST = _int("MAX_PIXELS_PER_REQUEST", 120_000_000)
    # The virus scanner: a dotted path to a callable (see docs/SECURITY.md), off when empty, e.g.
    # mel_app.submissions.scanning:clamd_scan with CLAMD_ADDRESS=unix:/run/clamav/clamd.ctl
    # or tcp:127.0.0.1:3310.
    EVIDENCE_SCANNER = os.environ.get("EVIDENCE_SCANNER", "")
    CLAMD_ADDRESS = os.environ.get("CLAMD_ADDRESS", "")
    CLAMD_TIMEOUT = _int("CLAMD_TIMEOUT", 30)

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = _int("MAIL_PORT", 25)
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)  # STARTTLS on a plain connection
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)  # TLS from the start (usually port 465)
    MAIL_TIMEOUT = _int("MAIL_TIMEOUT", 15)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "mel-noreply@example.org")

    # Failed sign-ins are counted in the database (table login_attempt), or in Redis when this is
    # set (e.g. redis://127.0.0.1:6379/0): either way shared by every worker and host.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "")
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "mel:")
    # Requests per personal access token in a sliding window (the same storage as above).
    API_RATE_LIMIT = _int("API_RATE_LIMIT", 120)
    API_RATE_WINDOW_SECONDS = _int("API_RATE_WINDOW_SECONDS", 60)
    LOGIN_FAILURES_PER_ACCOUNT = _int("LOGIN_FAILURES_PER_ACCOUNT", 5)
    LOGIN_FAILURES_PER_ADDRESS = _int("LOGIN_FAILURES_PER_ADDRESS", 20)
    LOGIN_FAILURE_WINDOW = timedelta(minutes=_int("LOGIN_FAILURE_WINDOW_MINUTES", 15))
    PASSWORD_RESETS_PER_ACCOUNT = _int("PASSWORD_RESETS_PER_ACCOUNT", 3)
    PASSWORD_RESET_WINDOW = timedelta(minutes=_int("PASSWORD_RESET_WINDOW_MINUTES", 60))

    # Emailed one-time links.
    INVITATION_LIFETIME = timedelta(hours=_int("INVITATION_HOURS", 72))
    PASSWORD_RESET_LIFETIME = timedelta(minutes=_int("PASSWORD_RESET_MINUTES", 60))
    # The link that asks someone without an account to substantiate an outcome statement.
    SUBSTANTIATION_LIFETIME = timedelta(days=_int("SUBSTANTIATION_DAYS", 30))
    # Links in emails are built on this address (e.g. https://mel.example.org), never on the
    # Host header of the request that asked for them. Empty: the request's own address, for
    # development and tests only; production refuses to start without an https address here.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "")

    # Two-factor sign-in (TOTP). Who must use it: "admin" for administrators, and project roles
    # ("specialist", "evaluator", "reporter", "observer") held in at least one project. Everyone
    # else may switch it on from their account page. Staff roles see every organisation's reports
    # and the audit trail, so a stolen password alone must not open them.
    TWO_FACTOR_REQUIRED_ROLES = _names("TWO_FACTOR_REQUIRED_ROLES", "admin,specialist,evaluator")
    # Failed codes (authenticator or recovery) per account within LOGIN_FAILURE_WINDOW.
    TWO_FACTOR_FAILURES_PER_ACCOUNT = _int("TWO_FACTOR_FAILURES_PER_ACCOUNT", 5)
    # How long the code step waits after a correct password before asking for the password again.
    TWO_FACTOR_PENDING = timedelta(minutes=_int("TWO_FACTOR_PENDING_MINUTES", 10))
    # The name authenticator apps show next to the account.
    TWO_FACTOR_ISSUER = os.environ.get("TWO_FACTOR_ISSUER", "ACTRAV MEL")

    PASSWORD_MIN_LENGTH = 12
    PASSWORD_MAX_LENGTH = 256

    # Number of reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted
    # (the client address is what sign-in throttling counts by).
    PROXY_FIX_X_FOR = _int("PROXY_FIX_X_FOR", 0)

    # argon2id parameters (argon2-cffi defaults unless overridden).
    ARGON2_TIME_COST = _int("ARGON2_TIME_COST", 3)
    ARGON2_MEMORY_COST = _int("ARGON2_MEMORY_COST", 65536)
    ARGON2_PARALLELISM = _int("ARGON2_PARALLELISM", 4)

    PAGE_SIZE = 25
    # Beyond this many organisations, the administrators' organisation selects list one country's
    # at a time (a select of thousands of options weighs hundreds of kilobytes).
    ORGANISATION_LIST_LIMIT = _int("ORGANISATION_LIST_LIMIT", 200)

    # Notifications and reminders (DESIGN.md §9): the queue the background worker runs on:
    # "sqlite" (one machine, the demo: a file in the instance folder), "redis" (production, any
    # number of workers on any number of machines), "immediate" (in the web process, no worker),
    # or "" (nothing is handed to a queue: run `flask notifications-drain` yourself).
    NOTIFY_QUEUE = os.environ.get("NOTIFY_QUEUE", "sqlite")
    NOTIFY_SQLITE_PATH = os.environ.get("NOTIFY_SQLITE_PATH") or str(INSTANCE_DIR / "notify-queue.sqlite")
    NOTIFY_REDIS_URL = os.environ.get("NOTIFY_REDIS_URL", "redis://127.0.0.1:6379/0")
    NOTIFY_QUEUE_NAME = os.environ.get("NOTIFY_QUEUE_NAME", "mel-notify")
    NOTIFY_BATCH_SIZE = _int("NOTIFY_BATCH_SIZE", 50)
    # A worker's claim on a batch lapses after this long (a killed worker's messages are retried).
    NOTIFY_LEASE_SECONDS = _float("NOTIFY_LEASE_SECONDS", 600)
    NOTIFY_MAX_ATTEMPTS = _int("NOTIFY_MAX_ATTEMPTS", 10)
    # Retries wait 30 s, 1 min, 2 min... at most an hour.
    NOTIFY_BACKOFF_SECONDS = _float("NOTIFY_BACKOFF_SECONDS", 30)
    NOTIFY_BACKOFF_MAX_SECONDS = _float("NOTIFY_BACKOFF_MAX_SECONDS", 3600)
    # Reminders: days before a report's due date; days before an evaluation's deadline; the UTC
    # hour of the daily run (reminders and digests); the weekday of the specialists' summary (0 Monday).
    NOTIFY_REPORT_REMINDER_DAYS = os.environ.get("NOTIFY_REPORT_REMINDER_DAYS", "14,3")
    NOTIFY_SCORECARD_REMINDER_DAYS = _int("NOTIFY_SCORECARD_REMINDER_DAYS", 3)
    NOTIFY_DAILY_HOUR = _int("NOTIFY_DAILY_HOUR", 6)
    NOTIFY_WEEKLY_DAY = _int("NOTIFY_WEEKLY_DAY", 0)
    # `make bench` only: X-Query-Count headers and a bare page (see mel_app/bench_hooks.py).
    BENCH = _bool("MEL_BENCH", False)
    # Demo accounts (User.is_demo) sign in with their published password alone: two-factor sign-in
    # is offered to them but never asked, so that one visitor cannot lock a shared account.
    # Off in production, where an account with a published password must not skip anything.
    DEMO_ACCOUNTS_SKIP_2FA = _bool("DEMO_ACCOUNTS_SKIP_2FA", False)
    PREFERRED_URL_SCHEME = "http"


class DevelopmentConfig(Config):
    NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY") or "dev-only-not-secret"  # noqa: S105 - demo/dev only
    DEMO_ACCOUNTS_SKIP_2FA = True
    SQLITE_WAL = True


class TestingConfig(Config):
    NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-only-not-secret"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    # Cheap hashes keep the suite fast; production uses the defaults above.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    ARGON2_PARALLELISM = 1
    DEMO_ACCOUNTS_SKIP_2FA = True
    # No queue in tests unless a test starts a worker: the tests drain the outbox themselves.
    NOTIFY_QUEUE = os.environ.get("NOTIFY_QUEUE", "")
    # Fault injection for the delivery tests, and only there (the other configurations have no
    # such setting): the worker kills itself (SIGKILL) right after the mail server accepted its
    # Nth message and before that message is marked sent, the one window in which a crash makes
    # a message go out twice. A test cannot hit that window reliably by killing from outside;
    # this reproduces it every time, to show that the re-sent message keeps its Message-ID.
    NOTIFY_FAULT_KILL_AFTER_ACCEPT = _int("NOTIFY_FAULT_KILL_AFTER_ACCEPT", 0)
    # No role requires two-factor sign-in in tests by default, so that the suite's `login` helper
    # (password only) keeps working for specialists, evaluators and administrators. The tests of
    # two-factor sign-in switch it on themselves (tests/security/test_totp.py). Accounts that have
    # switched it on are still asked for a code.
    TWO_FACTOR_REQUIRED_ROLES: frozenset[str] = frozenset()


class ProductionConfig(Config):
    NAME = "production"
    DEBUG = False
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-mel_session"
    PREFERRED_URL_SCHEME = "https"
    PROXY_FIX_X_FOR = _int("PROXY_FIX_X_FOR", 1)
    NOTIFY_QUEUE = os.environ.get("NOTIFY_QUEUE", "redis")


CONFIGS = {c.NAME: c for c in (DevelopmentConfig, TestingConfig, ProductionConfig)}


def config_from_env() -> type[Config]:
    name = os.environ.get("MEL_CONFIG", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise SystemExit(f"MEL_CONFIG={name!r} is not one of {', '.join(sorted(CONFIGS))}.") from None
