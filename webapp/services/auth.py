"""Sign-in rules: password hashing, the sign-in limit, and sessions that end on the server.

The sign-in limit. Within the window (LOGIN_WINDOW_SECONDS), an email may fail
max_failures times; then it is refused until its oldest counted failure leaves the window.
An address may fail max_failures * 4 times; past that it is only slowed: an account that
failed lately (from anywhere) is refused from it, one whose window is clear still gets its
try, so an account whose own password is right is let in from a busy address once its own
failures are older than the window. Checking and counting are one step: an attempt first
reserves its row as a failure in a write transaction that holds a lock (SQLite: BEGIN
IMMEDIATE; PostgreSQL: advisory locks on the email, then the address), and only a reserved
attempt has its password checked (outside the lock), the row turning into a success if it
was right. A refused attempt is written to LoginRefusal, never as a failure, so refusals do
not extend a lockout; TooManyAttempts carries the real wait.

Sessions. A sign-in opens a UserSession row; the Flask-Login id in the cookie is
"<user id>:<session version>:<token>" and the row's id is the token's SHA-256. Every request
loads the user through load_user(), which wants the row open (no ended_at), younger than the
lifetime, seen within the idle timeout, and the user active at that session version.
Sign-out ends the row, deactivation and a password change end every row of the user.
"""
import datetime
import hashlib
import math
import secrets

from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from webapp.database import is_postgres
from webapp.models import Company
from webapp.models import LoginAttempt
from webapp.models import LoginRefusal
from webapp.models import User
from webapp.models import UserSession
from webapp.models import db
from webapp.models import utcnow
from webapp.services import sql
from webapp.services.sql import write_transaction

# Checked against when the email is unknown, so both paths cost the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password")

# The password_hash of an invited user who has not chosen a password yet: matches nothing.
NO_PASSWORD = "!invited"
# The address limit is this many times the per-email limit.
ADDRESS_FACTOR = 4
# PostgreSQL advisory lock namespaces (the first key of pg_advisory_xact_lock(int, int)).
_EMAIL_LOCK = 7301
_ADDRESS_LOCK = 7302
# last_seen_at is written at most this often per session.
SEEN_EVERY = datetime.timedelta(minutes=1)
# Longest user agent kept on a session row.
_AGENT_MAX = 255


class TooManyAttempts(Exception):
    """Sign-in refused: too many recent failures for this email or address.

    retry_after: seconds until an attempt would be heard again.
    """

    def __init__(self, retry_after=0):
        super().__init__(f"retry after {retry_after:.0f} s")
        self.retry_after = max(0.0, float(retry_after))

    @property
    def minutes(self):
        """The wait in whole minutes, rounded up (at least 1)."""
        return max(1, math.ceil(self.retry_after / 60))


def hash_password(password):
    """scrypt hash (Werkzeug's default method)."""
    return generate_password_hash(password)


def _failures(where, since):
    """The failed attempts matching WHERE since SINCE (an attempt being checked counts)."""
    return LoginAttempt.select().where(
        where & (LoginAttempt.success == False) & (LoginAttempt.created_at >= since))  # noqa: E712


def _clears_at(query, count, limit, window):
    """When a window holding COUNT failures (QUERY) drops back under LIMIT."""
    oldest_to_go = (query.select(LoginAttempt.created_at).order_by(LoginAttempt.created_at)
                    .offset(count - limit).limit(1).scalar())
    return oldest_to_go + window


def _lock(email, ip):
    """Serialise the attempts of one email and of one address (PostgreSQL; SQLite's
    BEGIN IMMEDIATE already serialises every writer). Always email first, then address:
    no two attempts can wait on each other."""
    if is_postgres():
        db.execute_sql("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_EMAIL_LOCK, email))
        db.execute_sql("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_ADDRESS_LOCK, ip))


def _reserve(email, ip, max_failures, window_seconds):
    """Check the limits and count the attempt in one locked step.

    Returns (the attempt's row, written as a failure until its password proves right, None),
    or (None, seconds to wait) when it is refused (then recorded as a refusal only).
    """
    window = datetime.timedelta(seconds=window_seconds)
    with write_transaction():
        _lock(email, ip)
        now = utcnow()
        since = now - window
        by_email = _failures(LoginAttempt.email == email, since)
        email_count = by_email.count()
        refused = None
        if email_count >= max_failures:
            refused = "email", _clears_at(by_email, email_count, max_failures, window)
        elif email_count:
            # Only an account that failed lately is slowed by the address.
            by_ip = _failures(LoginAttempt.ip == ip, since)
            ip_count = by_ip.count()
            ip_limit = max_failures * ADDRESS_FACTOR
            if ip_count >= ip_limit:
                email_clear = by_email.select(LoginAttempt.created_at).order_by(
                    LoginAttempt.created_at.desc()).limit(1).scalar() + window
                refused = "address", min(email_clear, _clears_at(by_ip, ip_count, ip_limit, window))
        if refused:
            reason, until = refused
            LoginRefusal.create(email=email, ip=ip, reason=reason, created_at=now)
            return None, (until - now).total_seconds()
        return LoginAttempt.create(email=email, ip=ip, success=False, created_at=now), None


def reserve_attempt(key, ip, *, max_failures, window_seconds):
    """Count one attempt of KEY from IP under the sign-in limit (the second factor's codes
    use it with key "code:<email>"); returns the attempt's row, written as a failure until
    succeeded() turns it. Raises TooManyAttempts as a sign-in does."""
    attempt, wait = _reserve(key[:254], (ip or "")[:255], max_failures, window_seconds)
    if attempt is None:
        raise TooManyAttempts(wait)
    return attempt


def succeeded(attempt):
    """The attempt of reserve_attempt() was right after all."""
    LoginAttempt.update(success=True).where(LoginAttempt.id == attempt.id).execute()


def check_password(user, password):
    """True when PASSWORD is USER's (an invited user who has not chosen one matches nothing);
    costs the same time either way."""
    usable = user is not None and user.password_hash != NO_PASSWORD
    ok = check_password_hash(user.password_hash if usable else _DUMMY_HASH, password or "")
    return ok and usable


def authenticate(email, password, ip, *, max_failures, window_seconds):
    """The active user for these credentials, or None; every attempt is recorded.

    Raises TooManyAttempts (with the real wait) when this email failed too often lately,
    or it failed lately and its address failed too often lately (see the module's text).
    """
    email = (email or "").strip().lower()[:254]
    ip = (ip or "")[:255]
    attempt, wait = _reserve(email, ip, max_failures, window_seconds)
    if attempt is None:
        raise TooManyAttempts(wait)
    user = User.get_or_none(User.email == email)
    if not (check_password(user, password) and user.active):
        return None
    succeeded(attempt)
    User.update(last_login_at=utcnow()).where(User.id == user.id).execute()
    return user


def active_user(user_id, session_version):
    """The active user USER_ID while still at SESSION_VERSION (a sign-in half done), else None."""
    try:
        user_id, session_version = int(user_id), int(session_version)
    except (TypeError, ValueError):
        return None
    return User.get_or_none((User.id == user_id) & (User.session_version == session_version)
                            & (User.active == True))  # noqa: E712


# --- sessions ------------------------------------------------------------------------

def session_row_id(token):
    """The id of TOKEN's UserSession row: its SHA-256 (the table alone signs nobody in)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(user, *, ip, user_agent, lifetime_hours):
    """Open a session for USER; returns its token (also set as user.session_token, which
    User.get_id() puts into the cookie)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    UserSession.create(id=session_row_id(token), user=user.id, created_at=now, last_seen_at=now,
                       expires_at=now + datetime.timedelta(hours=lifetime_hours),
                       ip=(ip or "")[:255], user_agent=(user_agent or "")[:_AGENT_MAX])
    user.session_token = token
    return token


def end_session(token):
    """End the session of TOKEN (sign-out); True when it was open."""
    if not token:
        return False
    return bool(UserSession.update(ended_at=utcnow())
                .where((UserSession.id == session_row_id(token)) & UserSession.ended_at.is_null())
                .execute())


def end_sessions(user, except_token=None):
    """End every open session of USER (deactivation, password change), but the one of
    EXCEPT_TOKEN when given (the browser that changed the password); returns how many."""
    where = (UserSession.user == user.id) & UserSession.ended_at.is_null()
    if except_token:
        where &= UserSession.id != session_row_id(except_token)
    return UserSession.update(ended_at=utcnow()).where(where).execute()


def _signed_in_sql():
    """load_user's query (plain SQL, with "{p}" marks: it runs on every request, where building
    it from expression nodes and converting every value cost more than the database's work)."""
    return (f'SELECT "s"."id", "s"."last_seen_at", {sql.columns(User, "u")}, {sql.columns(Company, "c")} '
            f'FROM "{UserSession._meta.table_name}" AS "s" '
            f'JOIN "{User._meta.table_name}" AS "u" ON "u"."id" = "s"."user_id" '
            f'LEFT OUTER JOIN "{Company._meta.table_name}" AS "c" ON "c"."id" = "u"."company_id" '
            'WHERE "s"."id" = {p} AND "s"."user_id" = {p} AND "s"."ended_at" IS NULL '
            'AND "s"."expires_at" > {p} AND "s"."created_at" > {p} AND "s"."last_seen_at" > {p} '
            'AND "u"."session_version" = {p} AND "u"."active" = {p}')


def load_user(user_id, *, lifetime_hours, idle_minutes):
    """Flask-Login loader: the user of "id:session_version:token" when that session is open,
    younger than LIFETIME_HOURS, seen in the last IDLE_MINUTES, and the user active at that
    version; else None. Notes the session as seen (at most once a minute). The user's company
    comes in the same query (every page reads it), so a request loads user, session and company
    once."""
    try:
        uid, version, token = str(user_id).split(":", 2)
        uid, version = int(uid), int(version)
    except ValueError:
        return None
    if not token:
        return None
    now = utcnow()
    stamp = UserSession.expires_at.db_value
    row = sql.select(_signed_in_sql(), (
        session_row_id(token), uid, stamp(now), stamp(now - datetime.timedelta(hours=lifetime_hours)),
        stamp(now - datetime.timedelta(minutes=idle_minutes)), version, User.active.db_value(True)))
    if not row:
        return None
    session_id, last_seen_at, *rest = row[0]
    n = len(User._meta.sorted_fields)
    user = sql.instance(User, rest[:n])
    company = sql.instance(Company, rest[n:])
    if company is not None:
        user.company = company
    user._dirty.clear()
    if now - UserSession.last_seen_at.python_value(last_seen_at) >= SEEN_EVERY:
        UserSession.update(last_seen_at=now).where(UserSession.id == session_id).execute()
    user.session_token = token
    return user


def recent_sessions(user, limit=10):
    """USER's latest sign-ins, newest first: UserSession rows (time, address, browser)."""
    return list(UserSession.select().where(UserSession.user == user.id)
                .order_by(UserSession.created_at.desc()).limit(limit))


def session_is_open(row, now, *, lifetime_hours, idle_minutes):
    """Whether the session ROW would still let its browser in at NOW."""
    return (row.ended_at is None and row.expires_at > now
            and row.created_at > now - datetime.timedelta(hours=lifetime_hours)
            and row.last_seen_at > now - datetime.timedelta(minutes=idle_minutes))


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chromium/", "Chromium"),
             ("Chrome/", "Chrome"), ("Safari/", "Safari"), ("curl/", "curl"))
_SYSTEMS = (("Windows", "Windows"), ("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def describe_browser(user_agent):
    """A user agent in a person's words: "Firefox on Windows"; "Unknown browser" if none."""
    agent = user_agent or ""
    browser = next((name for mark, name in _BROWSERS if mark in agent), None)
    if "HeadlessChrome/" in agent:
        browser = "Headless Chrome"
    system = next((name for mark, name in _SYSTEMS if mark in agent), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or ("Unknown browser" if not agent else agent[:60])
