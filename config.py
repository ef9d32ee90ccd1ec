"""Configuration read from the environment. No Flask import here."""
import datetime
import os


def _bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


class Config:
    """Settings for one app instance; every value can come from the environment."""

    # Signs sessions and CSRF tokens; mandatory outside debug and tests, and the same
    # on every web node.
    SECRET_KEY = os.environ.get("SECRET_KEY")
    # sqlite:////abs/path.db or postgresql://user:password@host:5432/name.
    # Empty means "a SQLite file in the instance folder" (resolved in create_app).
    DATABASE_URL = os.environ.get("DATABASE_URL", "")
    # Empty means "Huey on a SQLite file in the instance folder"; sqlite:///path another
    # file; redis://host:6379/0 Redis; postgresql://... tables in PostgreSQL;
    # "immediate" runs tasks in-process (tests). See webapp/queue.py.
    QUEUE_URL = os.environ.get("QUEUE_URL", "")
    DEBUG = _bool("FLASK_DEBUG")
    TESTING = False
    # Uploads (CSV reports, load imports, documents) are refused above this size.
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_UPLOAD_BYTES", str(10 * 1024 * 1024)))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE")
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE")
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Behind a reverse proxy: how many proxies set X-Forwarded-* headers.
    PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0"))
    # Failed sign-ins allowed per email (and per address) in the window below.
    LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
    LOGIN_WINDOW_SECONDS = int(os.environ.get("LOGIN_WINDOW_SECONDS", "900"))
    # A signed-in session ends on the server (webapp/services/auth.py) at sign-out, on
    # deactivation or a password change, this many hours after sign-in, and after this many
    # minutes without a request.
    SESSION_LIFETIME_HOURS = int(os.environ.get("SESSION_LIFETIME_HOURS", "12"))
    SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", "30"))
    # The signed session cookie, and the remember cookie (sign-in never sets one), are good
    # for no longer than that; webapp/auth sets both again from SESSION_LIFETIME_HOURS.
    PERMANENT_SESSION_LIFETIME = datetime.timedelta(hours=SESSION_LIFETIME_HOURS)
    REMEMBER_COOKIE_DURATION = datetime.timedelta(hours=SESSION_LIFETIME_HOURS)
    # Mail (webapp/services/mail): empty writes each message as an .eml file under
    # instance/outbox/; smtp://user:password@host:587 sends with STARTTLS, smtps://...:465
    # with TLS (a password with @ or : is percent-encoded). MAIL_FROM is the sender.
    MAIL_URL = os.environ.get("MAIL_URL", "")
    MAIL_FROM = os.environ.get("MAIL_FROM", "Factor Desk <no-reply@factor-desk.localhost>")
    MAIL_TIMEOUT_SECONDS = int(os.environ.get("MAIL_TIMEOUT_SECONDS", "30"))
    # Tries of one message before it stays failed (a Retry in the mail log sends it again).
    MAIL_MAX_ATTEMPTS = int(os.environ.get("MAIL_MAX_ATTEMPTS", "6"))
    # The site's address as people reach it (https://desk.example.com), for links in emails
    # sent by the worker; empty: the address of the request that caused the message.
    BASE_URL = os.environ.get("BASE_URL", "")
    # A running batch job whose heartbeat is older than this is taken as dead.
    JOB_STALE_SECONDS = int(os.environ.get("JOB_STALE_SECONDS", "120"))
    # Above this many rows an export runs as a job (unset: 20,000 for CSV, 5,000 for XLSX).
    EXPORT_JOB_ROWS = int(os.environ["EXPORT_JOB_ROWS"]) if os.environ.get("EXPORT_JOB_ROWS", "").strip() else None
    WTF_CSRF_TIME_LIMIT = None
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
    # Where `flask backup` / `flask restore` find pg_dump and pg_restore when PATH's are
    # older than the server (e.g. /usr/lib/postgresql/16/bin). Empty: look it up.
    PG_BIN_DIR = os.environ.get("PG_BIN_DIR", "")
