"""Emailed links (services/account_links.py): invitations and resets, once, in time, the
latest only; "Forgot password?" the same for any email, and rate-limited."""
import datetime

import pytest

from tests.helpers import PASSWORD
from webapp.models import AccountToken
from webapp.models import AuditLog
from webapp.models import MailMessage
from webapp.models import PasswordResetRequest
from webapp.models import UserSession
from webapp.models import utcnow
from webapp.services import account_links
from webapp.services.auth import TooManyAttempts
from webapp.services.auth import check_password
from webapp.services.auth import start_session
from webapp.services.validation import Invalid

GOOD = "copper kettle on the stove"


class Links:
    """LINK_FOR that remembers the tokens it was given."""

    def __init__(self):
        self.tokens = []

    def __call__(self, token):
        self.tokens.append(token)
        return f"http://desk.test/reset-password/{token}"


@pytest.fixture
def links():
    return Links()


def test_reset_request_for_a_known_email_mails_a_link(world, dbconn, links):
    message = account_links.request_reset(" Billing@Demo.test ", "10.0.0.1", link_for=links)
    assert message.to_address == "billing@demo.test" and message.kind == "account.reset"
    assert links.tokens[0] in message.text_body and "30 minutes" in message.text_body
    row = account_links.check(links.tokens[0], account_links.RESET)
    assert row.user.email == "billing@demo.test"
    assert row.expires_at - row.created_at == datetime.timedelta(minutes=30)


def test_reset_request_for_an_unknown_email_sends_nothing_but_is_counted(world, dbconn, links):
    assert account_links.request_reset("nobody@demo.test", "10.0.0.1", link_for=links) is None
    assert links.tokens == [] and not MailMessage.select().exists()
    assert PasswordResetRequest.select().where(PasswordResetRequest.email == "nobody@demo.test").count() == 1


@pytest.mark.parametrize("email", ["billing@demo.test", "nobody@demo.test"])
def test_a_reset_requested_100_times_sends_three_links_and_only_the_last_works(world, dbconn, links, email):
    refused = 0
    for _ in range(100):
        try:
            account_links.request_reset(email, "10.0.0.1", link_for=links)
        except TooManyAttempts as exc:
            refused += 1
            assert 0 < exc.retry_after <= 3600
    assert refused == 100 - account_links.RESET_PER_EMAIL
    known = email == "billing@demo.test"
    assert MailMessage.select().count() == (3 if known else 0)
    assert PasswordResetRequest.select().count() == 3  # refusals are not counted again
    if known:
        first, second, last = links.tokens
        for older in (first, second):
            with pytest.raises(Invalid) as info:
                account_links.check(older, account_links.RESET)
            assert "A newer link was sent" in info.value.message
        assert account_links.check(last, account_links.RESET)


def test_reset_requests_from_one_address_are_limited_across_emails(world, dbconn, links):
    for n in range(account_links.RESET_PER_ADDRESS):
        account_links.request_reset(f"person{n}@demo.test", "10.0.0.9", link_for=links)
    with pytest.raises(TooManyAttempts):
        account_links.request_reset("billing@demo.test", "10.0.0.9", link_for=links)
    assert links.tokens == []  # the known email was refused before any link was made
    assert account_links.request_reset("billing@demo.test", "10.0.0.10", link_for=links) is not None


def test_an_old_request_leaves_the_window(world, dbconn, links):
    past = utcnow() - datetime.timedelta(hours=2)
    for _ in range(account_links.RESET_PER_EMAIL):
        account_links.request_reset("billing@demo.test", "10.0.0.1", link_for=links, now=past)
    assert account_links.request_reset("billing@demo.test", "10.0.0.1", link_for=links) is not None


def test_redeem_sets_the_password_once_and_ends_every_session(world, dbconn, links):
    user = world.user("billing")
    start_session(user, ip="1.2.3.4", user_agent="x", lifetime_hours=1)
    account_links.request_reset(user.email, "10.0.0.1", link_for=links)
    [token] = links.tokens
    account_links.redeem(token, account_links.RESET, GOOD, GOOD)
    assert check_password(world.user("billing"), GOOD)
    assert not UserSession.select().where(UserSession.ended_at.is_null() & (UserSession.user == user.id)).exists()
    assert '"how": "reset link"' in AuditLog.get(AuditLog.action == "user.password").details
    with pytest.raises(Invalid) as info:
        account_links.redeem(token, account_links.RESET, "another good passphrase", "another good passphrase")
    assert "already used" in info.value.message
    assert check_password(world.user("billing"), GOOD)


def test_an_expired_link_is_refused_and_changes_nothing(world, dbconn, links):
    account_links.request_reset("billing@demo.test", "10.0.0.1", link_for=links)
    later = utcnow() + datetime.timedelta(minutes=31)
    with pytest.raises(Invalid) as info:
        account_links.redeem(links.tokens[0], account_links.RESET, GOOD, GOOD, now=later)
    assert "This link has expired" in info.value.message
    assert check_password(world.user("billing"), PASSWORD)
    assert AccountToken.get().used_at is None


@pytest.mark.parametrize("alter", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), lambda t: t + "x", lambda t: t[:20], lambda t: "",
    lambda t: "x" * 5000,
])
def test_an_altered_link_is_refused_and_changes_nothing(world, dbconn, links, alter):
    account_links.request_reset("billing@demo.test", "10.0.0.1", link_for=links)
    with pytest.raises(Invalid) as info:
        account_links.redeem(alter(links.tokens[0]), account_links.RESET, GOOD, GOOD)
    assert "This link is not valid" in info.value.message
    assert check_password(world.user("billing"), PASSWORD)


def test_a_reset_link_is_not_an_invitation(world, dbconn, links):
    account_links.request_reset("billing@demo.test", "10.0.0.1", link_for=links)
    with pytest.raises(Invalid) as info:
        account_links.check(links.tokens[0], account_links.INVITE)
    assert "not valid" in info.value.message


def test_a_bad_new_password_keeps_the_link_usable(world, dbconn, links):
    account_links.request_reset("billing@demo.test", "10.0.0.1", link_for=links)
    with pytest.raises(Invalid) as info:
        account_links.redeem(links.tokens[0], account_links.RESET, "short", "short")
    assert list(info.value.errors) == ["password"]
    assert account_links.check(links.tokens[0], account_links.RESET).used_at is None


def test_an_invitation_lasts_72_hours_and_sending_again_voids_the_first(world, dbconn, links):
    from webapp.services import users
    created = users.create_company_user(world.user("admin"), world.company,
                                        {"email": "new@demo.test", "name": "New", "role": "user"}, link_for=links)
    first = links.tokens[0]
    row = account_links.check(first, account_links.INVITE)
    assert row.expires_at - row.created_at == datetime.timedelta(hours=72)
    with pytest.raises(Invalid):
        account_links.check(first, account_links.INVITE, now=utcnow() + datetime.timedelta(hours=73))
    users.resend_invitation(world.user("admin"), world.company, created, link_for=links)
    with pytest.raises(Invalid) as info:
        account_links.check(first, account_links.INVITE)
    assert "A newer link was sent" in info.value.message
    account_links.redeem(links.tokens[1], account_links.INVITE, GOOD, GOOD)
    assert check_password(world.user("new@demo.test"), GOOD)
    # Accepted: no more invitations, and no reset for an invited user before that.
    with pytest.raises(Invalid) as info:
        users.resend_invitation(world.user("admin"), world.company, world.user("new@demo.test"), link_for=links)
    assert "already chosen a password" in info.value.message


def test_forgot_password_of_an_invited_user_sends_nothing(world, dbconn, links):
    from webapp.services import users
    users.create_company_user(world.user("admin"), world.company,
                              {"email": "new@demo.test", "name": "New", "role": "user"}, link_for=links)
    assert account_links.request_reset("new@demo.test", "10.0.0.1", link_for=links) is None
    assert MailMessage.select().where(MailMessage.kind == "account.reset").count() == 0


def test_reset_requests_at_the_same_moment_count_once_each(world, dbconn, links):
    from tests.helpers import at_once
    from webapp.database import connection
    db_before = MailMessage.select().count()
    dbconn.close()  # each thread its own connection
    results = at_once([lambda: account_links.request_reset("billing@demo.test", "10.0.0.1", link_for=links)
                       for _ in range(12)], each=connection)
    dbconn.connect(reuse_if_open=True)
    sent = [r for r in results if isinstance(r, MailMessage)]
    refused = [r for r in results if isinstance(r, TooManyAttempts)]
    assert (len(sent), len(refused)) == (account_links.RESET_PER_EMAIL, 12 - account_links.RESET_PER_EMAIL), results
    assert MailMessage.select().count() - db_before == account_links.RESET_PER_EMAIL
    assert PasswordResetRequest.select().count() == account_links.RESET_PER_EMAIL
