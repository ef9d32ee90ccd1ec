"""Two-factor sign-in: TOTP codes (RFC 6238, pyotp) and ten single-use recovery codes.

Enrolment: begin() keeps a new secret on the user (pending: two_factor_enabled_at is null),
the person scans its QR code (qr_svg) or types the secret, and confirm() turns it on with a
first code and returns ten recovery codes, shown once and kept only as SHA-256 hashes.
Sign-in: verify() takes a code of the previous, current or next 30-second step, or a
recovery code. A time step is accepted once: the user's two_factor_last_step moves forward by
one conditional UPDATE, so a code (even of the previous window) cannot be used twice, nor an
older one after a newer. Failed codes count under the sign-in limit (services/auth.py),
keyed "code:<email>". Required for Support and Partner Admin, and for every user of a company
whose Admin asks for it; optional (and can be turned off) for the others.
"""
import hashlib
import hmac
import secrets
import time

import pyotp
import segno

from webapp.models import ROLE_PARTNER_ADMIN
from webapp.models import ROLE_SUPPORT
from webapp.models import RecoveryCode
from webapp.models import User
from webapp.models import db
from webapp.models import utcnow
from webapp.services import audit
from webapp.services import auth
from webapp.services.validation import FORM
from webapp.services.validation import Invalid

ISSUER = "Factor Desk"
STEP_SECONDS = 30
RECOVERY_CODES = 10
_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
REQUIRED_ROLES = (ROLE_SUPPORT, ROLE_PARTNER_ADMIN)


def is_enrolled(user):
    """Whether USER signs in with a second factor."""
    return user.two_factor_enabled_at is not None


def is_required(user):
    """Whether USER must use a second factor: by role, or because their company asks it."""
    if user.role in REQUIRED_ROLES:
        return True
    if user.company_id is None:
        return False
    # user.company: the row the request loads anyway for the company in view (no query more).
    return bool(user.company.require_two_factor)


def must_enrol(user):
    """Whether USER is to be sent to enrolment before anything else."""
    return not is_enrolled(user) and is_required(user)


def begin(user):
    """The pending secret of USER's enrolment (a new one the first time); refused when on."""
    if is_enrolled(user):
        raise Invalid({FORM: "Two-factor sign-in is already on."})
    if not user.two_factor_secret:
        secret = pyotp.random_base32()
        User.update(two_factor_secret=secret).where(
            (User.id == user.id) & User.two_factor_enabled_at.is_null()).execute()
        user.two_factor_secret = User.get_by_id(user.id).two_factor_secret
    return user.two_factor_secret


def provisioning_uri(user, secret):
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri, title):
    """URI as an inline SVG QR code, drawn here (no image fetched from anywhere)."""
    svg = segno.make(uri, error="m").svg_inline(scale=4, title=title)
    return svg.replace("<svg ", '<svg role="img" ', 1)


def _normal(code):
    return "".join(str(code or "").split()).replace("-", "").lower()


def _matching_step(secret, code, at):
    """The time step (previous, current or next) whose TOTP code is CODE, else None."""
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    step = int(at // STEP_SECONDS)
    for candidate in (step - 1, step, step + 1):
        if hmac.compare_digest(totp.at(candidate * STEP_SECONDS), code):
            return candidate
    return None


def _take_step(user, step):
    """Accept STEP for USER once (one conditional UPDATE); False when it, or a later one, was used."""
    return bool(User.update(two_factor_last_step=step)
                .where((User.id == user.id) & (User.two_factor_last_step < step)).execute())


def hash_code(code):
    """The SHA-256 a recovery code is kept as (spaces, dashes and case do not matter)."""
    return hashlib.sha256(_normal(code).encode("ascii", "replace")).hexdigest()


def _new_recovery_codes(user):
    """Replace USER's recovery codes with ten new ones; the codes in clear (shown once)."""
    RecoveryCode.delete().where(RecoveryCode.user == user.id).execute()
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(16))
        codes.append("-".join(raw[i:i + 4] for i in range(0, 16, 4)))
    RecoveryCode.insert_many([{"user": user.id, "code_hash": hash_code(c), "created_at": utcnow()}
                              for c in codes]).execute()
    return codes


def confirm(user, code, *, at=None):
    """Turn two-factor sign-in on with a first CODE from the pending secret; audited.
    Returns the ten recovery codes (to show once)."""
    if is_enrolled(user):
        raise Invalid({FORM: "Two-factor sign-in is already on."})
    if not user.two_factor_secret:
        raise Invalid({FORM: "Start again: open the two-factor page to get a QR code."})
    step = _matching_step(user.two_factor_secret, _normal(code), time.time() if at is None else at)
    if step is None:
        raise Invalid({"code": "That code does not match. Type the 6 digits your app shows now."})
    with db.atomic():
        turned_on = (User.update(two_factor_enabled_at=utcnow(), two_factor_last_step=step)
                     .where((User.id == user.id) & User.two_factor_enabled_at.is_null()
                            & (User.two_factor_secret == user.two_factor_secret)).execute())
        if not turned_on:
            raise Invalid({FORM: "Two-factor sign-in was turned on in another window."})
        codes = _new_recovery_codes(user)
        audit.record(audit.USER_TWO_FACTOR_ENROL, "user", user.id, actor=user, company=user.company_id)
    return codes


def verify(user, code, ip, *, max_failures, window_seconds, at=None):
    """Check a sign-in's second factor: "totp" or "recovery" when CODE is good (and now used
    up). Raises Invalid when it is not, TooManyAttempts when the codes failed too often lately."""
    attempt = auth.reserve_attempt(f"code:{user.email}", ip, max_failures=max_failures,
                                   window_seconds=window_seconds)
    code = _normal(code)
    if not code:
        raise Invalid({"code": "Enter the 6-digit code from your app, or a recovery code."})
    step = _matching_step(user.two_factor_secret, code, time.time() if at is None else at)
    if step is not None:
        if not _take_step(user, step):
            raise Invalid({"code": "That code was already used. Wait for the next one in your app."})
        auth.succeeded(attempt)
        return "totp"
    if len(code) == 16 and RecoveryCode.update(used_at=utcnow()).where(
            (RecoveryCode.user == user.id) & (RecoveryCode.code_hash == hash_code(code))
            & RecoveryCode.used_at.is_null()).execute():
        auth.succeeded(attempt)
        return "recovery"
    raise Invalid({"code": "That code does not match. Type the 6 digits your app shows now, "
                           "or one of your recovery codes."})


def recovery_codes_left(user):
    """How many of USER's recovery codes are still unused."""
    return RecoveryCode.select().where((RecoveryCode.user == user.id) & RecoveryCode.used_at.is_null()).count()


def new_recovery_codes(user, password):
    """Ten new recovery codes for USER (the old ones stop working), after their password."""
    if not auth.check_password(user, password):
        raise Invalid({"password": "That is not your password."})
    if not is_enrolled(user):
        raise Invalid({FORM: "Turn two-factor sign-in on first."})
    with db.atomic():
        return _new_recovery_codes(user)


def _clear(user):
    User.update(two_factor_secret="", two_factor_enabled_at=None).where(User.id == user.id).execute()
    RecoveryCode.delete().where(RecoveryCode.user == user.id).execute()


def turn_off(user, password):
    """USER turns their own two-factor sign-in off (only where it is optional); audited."""
    if not auth.check_password(user, password):
        raise Invalid({"password": "That is not your password."})
    if is_required(user):
        raise Invalid({FORM: "Two-factor sign-in is required for you: it cannot be turned off."})
    if not is_enrolled(user):
        raise Invalid({FORM: "Two-factor sign-in is not on."})
    with db.atomic():
        _clear(user)
        audit.record(audit.USER_TWO_FACTOR_DISABLE, "user", user.id, actor=user, company=user.company_id)


def reset(target, *, actor, company):
    """An admin takes TARGET's lost second factor away (they enrol again at their next sign-in
    where it is required); their sessions end; audited."""
    if not is_enrolled(target) and not target.two_factor_secret:
        raise Invalid({FORM: f"{target.display_name} has no two-factor sign-in to reset."})
    with db.atomic():
        _clear(target)
        ended = auth.end_sessions(target)
        audit.record(audit.USER_TWO_FACTOR_RESET, "user", target.id, actor=actor, company=company,
                     details={"sessions_ended": ended})
