"""Links sent by email to choose a password: invitations (72 hours) and resets (30 minutes).

A link carries a random token of 256 bits; the account_token row's id is its SHA-256, so the
table alone opens nothing and a link that was altered matches no row. A link is good once
(used_at is set by one conditional UPDATE), until it expires, and until a newer link of the
same kind is sent to the same user (that voids it). "Forgot password?" answers the same
whether or not the email is known; every request is recorded, and more than
RESET_PER_EMAIL for one email or RESET_PER_ADDRESS from one address within RESET_WINDOW are
refused (for a known and an unknown email alike) with the wait.
"""
import datetime
import hashlib
import secrets

from webapp.database import is_postgres
from webapp.models import AccountToken
from webapp.models import PasswordResetRequest
from webapp.models import User
from webapp.models import db
from webapp.models import utcnow
from webapp.services import audit
from webapp.services import mail
from webapp.services import passwords
from webapp.services.auth import NO_PASSWORD
from webapp.services.auth import TooManyAttempts
from webapp.services.sql import write_transaction
from webapp.services.validation import FORM
from webapp.services.validation import Invalid

INVITE = "invite"
RESET = "reset"
LIFETIMES = {INVITE: datetime.timedelta(hours=72), RESET: datetime.timedelta(minutes=30)}
RESET_WINDOW = datetime.timedelta(hours=1)
RESET_PER_EMAIL = 3
RESET_PER_ADDRESS = 10
# PostgreSQL advisory lock namespaces of the reset requests (services/auth.py has 7301, 7302).
_EMAIL_LOCK = 7303
_ADDRESS_LOCK = 7304


def _row_id(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _issue(user, kind, now=None):
    """A new link token of KIND for USER; the older ones of that kind stop working."""
    now = now or utcnow()
    AccountToken.update(voided_at=now).where(
        (AccountToken.user == user.id) & (AccountToken.kind == kind)
        & AccountToken.used_at.is_null() & AccountToken.voided_at.is_null()).execute()
    token = secrets.token_urlsafe(32)
    AccountToken.create(id=_row_id(token), user=user.id, kind=kind, created_at=now,
                        expires_at=now + LIFETIMES[kind])
    return token


def _mail(user, kind, link):
    """Queue the email of a link; the message (start it with jobs.send_mail after the commit)."""
    name = user.name or user.email
    if kind == INVITE:
        subject = "You are invited to Factor Desk"
        text = (f"Hello {name},\n\nAn account on Factor Desk was made for you ({user.email}).\n"
                f"Choose your password here (the link works once, for 72 hours):\n\n{link}\n\n"
                "If you did not expect this, you can ignore this email.\n")
    else:
        subject = "Reset your Factor Desk password"
        text = (f"Hello {name},\n\nSomeone (we hope you) asked to reset the password of {user.email}.\n"
                f"Choose a new password here (the link works once, for 30 minutes):\n\n{link}\n\n"
                "If you did not ask, ignore this email: your password stays as it is.\n")
    return mail.queue(to=user.email, subject=subject, text=text, kind=f"account.{kind}",
                      company_id=user.company_id, user_id=user.id)


def invite(user, *, actor, link_for, company=None):
    """Send USER an invitation to choose their password (again: the older link stops working);
    audited. LINK_FOR(token) is the page's full address. Returns the queued message."""
    if user.password_hash != NO_PASSWORD:
        raise Invalid({FORM: f"{user.display_name} has already chosen a password. Send a reset link instead."})
    with db.atomic():
        message = _mail(user, INVITE, link_for(_issue(user, INVITE)))
        audit.record(audit.USER_INVITE, "user", user.id, actor=actor, company=company or user.company_id,
                     details={"to": user.email})
    return message


def send_reset(user, *, actor, link_for, company=None):
    """An admin sends USER a reset link; audited. Returns the queued message."""
    if user.password_hash == NO_PASSWORD:
        raise Invalid({FORM: f"{user.display_name} has not accepted the invitation yet. Send it again instead."})
    if not user.active:
        raise Invalid({FORM: f"{user.display_name} is deactivated. Reactivate them first."})
    with db.atomic():
        message = _mail(user, RESET, link_for(_issue(user, RESET)))
        audit.record(audit.USER_RESET_LINK, "user", user.id, actor=actor, company=company or user.company_id,
                     details={"to": user.email})
    return message


def request_reset(email, ip, *, link_for, now=None):
    """"Forgot password?": the queued message when EMAIL is an active user's that has a
    password, else None; the same for the caller either way. Raises TooManyAttempts when the
    email or the address asked too often lately (known email or not)."""
    email = (email or "").strip().lower()[:254]
    ip = (ip or "")[:255]
    with write_transaction():
        if is_postgres():  # count and record as one step per email and per address
            db.execute_sql("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_EMAIL_LOCK, email))
            db.execute_sql("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_ADDRESS_LOCK, ip))
        now = now or utcnow()
        since = now - RESET_WINDOW
        recent = PasswordResetRequest.select().where(PasswordResetRequest.created_at >= since)
        for where, limit in ((PasswordResetRequest.email == email, RESET_PER_EMAIL),
                             (PasswordResetRequest.ip == ip, RESET_PER_ADDRESS)):
            counted = recent.where(where)
            if counted.count() >= limit:
                oldest = (counted.select(PasswordResetRequest.created_at)
                          .order_by(PasswordResetRequest.created_at.desc()).offset(limit - 1).limit(1).scalar())
                raise TooManyAttempts((oldest + RESET_WINDOW - now).total_seconds())
        PasswordResetRequest.create(email=email, ip=ip, created_at=now)
        user = User.get_or_none(User.email == email)
        if user is None or not user.active or user.password_hash == NO_PASSWORD:
            return None
        return _mail(user, RESET, link_for(_issue(user, RESET, now)))


_REFUSALS = {
    "unknown": "This link is not valid. Check that you copied the whole address, or ask for a new one.",
    "used": "This link was already used. Ask for a new one if you need it.",
    "voided": "A newer link was sent after this one: use the latest email.",
    "expired": "This link has expired. Ask for a new one.",
}


def check(token, kind, now=None):
    """The AccountToken (with its user) of TOKEN when it is good now; else Invalid saying why."""
    now = now or utcnow()
    row = None
    if token and len(token) <= 100:
        row = (AccountToken.select(AccountToken, User).join(User)
               .where((AccountToken.id == _row_id(token)) & (AccountToken.kind == kind)).first())
    if row is None:
        reason = "unknown"
    elif row.used_at is not None:
        reason = "used"
    elif row.voided_at is not None:
        reason = "voided"
    elif row.expires_at <= now or not row.user.active:
        reason = "expired"
    else:
        return row
    raise Invalid({FORM: _REFUSALS[reason]})


def redeem(token, kind, password, confirm, now=None):
    """Choose a password through the link TOKEN of KIND: checked, used up (once, even by two
    browsers at the same moment), every session of the user ended; audited. The user."""
    row = check(token, kind, now)
    user = row.user
    passwords.check_new(password, confirm, user.email)
    with db.atomic():
        now = now or utcnow()
        taken = (AccountToken.update(used_at=now)
                 .where((AccountToken.id == row.id) & AccountToken.used_at.is_null()
                        & AccountToken.voided_at.is_null() & (AccountToken.expires_at > now)).execute())
        if not taken:
            raise Invalid({FORM: _REFUSALS["used"]})
        # Whichever link was used, the others of the user stop working too.
        AccountToken.update(voided_at=now).where(
            (AccountToken.user == user.id) & AccountToken.used_at.is_null()
            & AccountToken.voided_at.is_null()).execute()
        passwords.store(user, password, actor=user, how="invitation" if kind == INVITE else "reset link")
    return User.get_by_id(user.id)


def pending_invitation(user):
    """Whether USER was invited and has not chosen a password yet."""
    return user.password_hash == NO_PASSWORD
