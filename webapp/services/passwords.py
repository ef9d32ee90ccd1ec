"""Passwords people choose: the rules, changing your own, and setting one (an invitation, a
reset link, the command line). Choosing a password ends the user's other sessions.

The rules: at least 12 characters (at most 1,024), not the email or its name part, and not
one of the passwords people pick first (data/common-passwords.txt, made by
scripts/make_common_passwords.py), also when digits and symbols are put around it.
"""
import functools
import os
import re

from webapp.models import User
from webapp.models import db
from webapp.models import utcnow
from webapp.services import audit
from webapp.services import auth
from webapp.services.validation import Invalid

MIN_LENGTH = 12
MAX_LENGTH = 1024
_COMMON_FILE = os.path.join(os.path.dirname(__file__), "data", "common-passwords.txt")
# What people put around a word: "2024!Password#1" is "password" dressed up.
_AROUND = re.compile(r"^[\d\W_]+|[\d\W_]+$")


@functools.cache
def common_passwords():
    """The shipped list, lower case (read once)."""
    with open(_COMMON_FILE, encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def problem(password, email):
    """Why PASSWORD may not be chosen by the owner of EMAIL, in a sentence; None when it may."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return f"Choose a password of at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"The password is too long: at most {MAX_LENGTH:,} characters."
    lowered = password.strip().lower()
    email = (email or "").strip().lower()
    if email and (lowered == email or lowered == email.split("@")[0] or _AROUND.sub("", lowered) == email.split("@")[0]):
        return "Choose a password that is not your email address."
    common = common_passwords()
    if lowered in common or _AROUND.sub("", lowered) in common or _doubled(lowered) in common:
        return "That password is one of the most common ones. Choose one that is harder to guess."
    return None


def _doubled(text):
    """TEXT's first half when TEXT is one word written twice ("summersummer"), else TEXT."""
    half = len(text) // 2
    return text[:half] if len(text) % 2 == 0 and text[:half] == text[half:] else text


def check_new(password, confirm, email, field="password"):
    """Raise Invalid (at FIELD, or at confirm) unless PASSWORD may be chosen and CONFIRM repeats it."""
    message = problem(password, email)
    if message:
        raise Invalid({field: message})
    if password != (confirm or ""):
        raise Invalid({"confirm": "The two passwords are not the same. Type the new password twice."})


def store(user, password, *, actor, how, keep_token=None, company=None):
    """Save USER's new PASSWORD (already checked) and end their sessions, but KEEP_TOKEN's;
    audited with HOW (change, invitation, reset, command line). Call it in a transaction."""
    User.update(password_hash=auth.hash_password(password), password_set_at=utcnow()).where(
        User.id == user.id).execute()
    ended = auth.end_sessions(user, except_token=keep_token)
    audit.record(audit.USER_PASSWORD, "user", user.id, actor=actor, company=company or user.company_id,
                 details={"how": how, "sessions_ended": ended})
    return ended


def change_own(user, *, current, new, confirm, keep_token):
    """USER changes their password: CURRENT must be right; the other sessions end (the one of
    KEEP_TOKEN, this browser, stays). Returns how many sessions ended."""
    if not auth.check_password(user, current):
        raise Invalid({"current": "That is not your current password."})
    check_new(new, confirm, user.email, field="new")
    if new == current:
        raise Invalid({"new": "The new password is the one you have now. Choose another."})
    with db.atomic():
        return store(user, new, actor=user, how="change", keep_token=keep_token)


def set_by_command_line(email, password, confirm):
    """`flask set-password EMAIL`: the rules apply, every session of the user ends; the user."""
    user = User.get_or_none(User.email == (email or "").strip().lower())
    if user is None:
        raise Invalid({"email": f"There is no user with the email {email}."})
    check_new(password, confirm, user.email)
    with db.atomic():
        store(user, password, actor=None, how="command line")
    return user
