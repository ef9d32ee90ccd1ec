"""Passwords (services/passwords.py): the rules, changing your own, the command line's."""
import pytest

from tests.helpers import PASSWORD
from webapp.models import AuditLog
from webapp.models import User
from webapp.models import UserSession
from webapp.services import passwords
from webapp.services.auth import check_password
from webapp.services.auth import start_session
from webapp.services.validation import Invalid

GOOD = "copper kettle on the stove"


@pytest.mark.parametrize("password, message", [
    ("short-one", "at least 12 characters"),
    ("x" * 1025, "at most 1,024 characters"),
    ("billing@demo.test", "not your email address"),
    ("BILLING@demo.test", "not your email address"),
    ("password1234", "most common"),
    ("Password2024!", "most common"),   # a common word dressed in digits and symbols
    ("!!Welcome2025##", "most common"),
    ("qwertyuiopasdf", "most common"),  # a keyboard walk
    ("summersummer", "most common"),    # a word twice
    ("demo-password", "most common"),
    ("111111111111", "most common"),
])
def test_rules_refuse_weak_passwords_with_a_reason(password, message):
    assert message in passwords.problem(password, "billing@demo.test")


def test_rules_accept_a_long_uncommon_password():
    assert passwords.problem(GOOD, "billing@demo.test") is None
    assert len(passwords.common_passwords()) > 5000  # the shipped list was read


def _sessions(user, n=2):
    return [start_session(user, ip="127.0.0.1", user_agent="test", lifetime_hours=1) for _ in range(n)]


def _open(user):
    return UserSession.select().where((UserSession.user == user.id) & UserSession.ended_at.is_null()).count()


def test_change_own_keeps_this_session_and_ends_the_others(world, dbconn):
    user = world.user("billing")
    here, _there = _sessions(user)
    ended = passwords.change_own(user, current=PASSWORD, new=GOOD, confirm=GOOD, keep_token=here)
    assert ended == 1 and _open(user) == 1
    saved = world.user("billing")
    assert check_password(saved, GOOD) and not check_password(saved, PASSWORD)
    log = AuditLog.get(AuditLog.action == "user.password")
    assert log.actor_id == user.id and '"how": "change"' in log.details


@pytest.mark.parametrize("current, new, confirm, field, message", [
    ("wrong-password", GOOD, GOOD, "current", "not your current password"),
    (PASSWORD, GOOD, GOOD + "x", "confirm", "not the same"),
    (PASSWORD, "too-short", "too-short", "new", "at least 12 characters"),
    (PASSWORD, "Password2024!", "Password2024!", "new", "most common"),
    (PASSWORD, "billing@demo.test", "billing@demo.test", "new", "not your email"),
])
def test_change_own_refused_changes_nothing(world, dbconn, current, new, confirm, field, message):
    user = world.user("billing")
    _sessions(user)
    before = user.password_hash
    with pytest.raises(Invalid) as info:
        passwords.change_own(user, current=current, new=new, confirm=confirm, keep_token=None)
    assert list(info.value.errors) == [field] and message in info.value.message
    assert world.user("billing").password_hash == before and _open(user) == 2
    assert not AuditLog.select().where(AuditLog.action == "user.password").exists()


def test_command_line_sets_a_password_and_ends_every_session(world, dbconn):
    user = world.user("dispatch")
    _sessions(user)
    passwords.set_by_command_line("Dispatch@Demo.test", GOOD, GOOD)
    assert check_password(world.user("dispatch"), GOOD) and _open(user) == 0
    assert User.get_by_id(user.id).password_set_at is not None


def test_command_line_refuses_an_unknown_email(world, dbconn):
    with pytest.raises(Invalid) as info:
        passwords.set_by_command_line("nobody@demo.test", GOOD, GOOD)
    assert "no user with the email nobody@demo.test" in info.value.message
