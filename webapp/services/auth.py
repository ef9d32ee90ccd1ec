"""Sign-in rules: password hashing, rate limiting of failures, user lookup."""
import datetime

from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from webapp.models import LoginAttempt
from webapp.models import User
from webapp.models import utcnow

# Checked against when the email is unknown, so both paths cost the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class TooManyAttempts(Exception):
    """Sign-in refused: too many recent failures for this email or address."""


def hash_password(password):
    """scrypt hash (Werkzeug's default method)."""
    return generate_password_hash(password)


def recent_failures(email, ip, window_seconds):
    """Failed attempts for this email, and from this address, within the window."""
    since = utcnow() - datetime.timedelta(seconds=window_seconds)
    base = LoginAttempt.select().where(
        (LoginAttempt.success == False) & (LoginAttempt.created_at >= since))  # noqa: E712
    return (base.where(LoginAttempt.email == email).count(),
            base.where(LoginAttempt.ip == ip).count())


def authenticate(email, password, ip, *, max_failures, window_seconds):
    """The active user for these credentials, or None; every attempt is recorded.

    Raises TooManyAttempts when this email or address failed too often lately.
    """
    email = (email or "").strip().lower()[:254]
    by_email, by_ip = recent_failures(email, ip, window_seconds)
    if by_email >= max_failures or by_ip >= max_failures * 4:
        LoginAttempt.create(email=email, ip=ip, success=False)
        raise TooManyAttempts()
    user = User.get_or_none(User.email == email)
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "")
    ok = ok and user is not None and user.active
    LoginAttempt.create(email=email, ip=ip, success=ok)
    if not ok:
        return None
    User.update(last_login_at=utcnow()).where(User.id == user.id).execute()
    return user


def load_user(user_id):
    """Flask-Login loader: "id:session_version" of an active user, else None."""
    try:
        uid, version = (int(part) for part in str(user_id).split(":", 1))
    except ValueError:
        return None
    return User.get_or_none((User.id == uid) & (User.session_version == version)
                            & (User.active == True))  # noqa: E712
