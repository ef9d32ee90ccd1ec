"""The sign-in limit (finding 6): counted at once, so parallel guesses cannot slip past it;
refused attempts are not failures, so they never extend a lockout; an address over its limit
only slows the accounts that failed lately, never shuts out a right password once that
account's own failures are past the window; and the refusal gives the real wait.

Defaults: 5 failures per email, 20 per address, in 15 minutes. Times are moved back in the
database instead of waiting.
"""
import datetime
import threading

from tests.helpers import DEMO_USERS
from tests.helpers import PASSWORD
from tests.helpers import in_db
from webapp.models import LoginAttempt
from webapp.models import LoginRefusal
from webapp.models import db
from webapp.models import utcnow

BILLING = DEMO_USERS["billing"]
DISPATCH = DEMO_USERS["dispatch"]
BUSY = "198.51.100.7"  # an office behind one address, with an attacker in it
ELSEWHERE = "203.0.113.20"
WINDOW = datetime.timedelta(seconds=900)


def _sign_in(client, email, password="wrong-password", ip="127.0.0.1"):
    return client.post("/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


def _failures(app, email=None, ip=None):
    with in_db(app):
        query = LoginAttempt.select().where(LoginAttempt.success == False)  # noqa: E712
        if email:
            query = query.where(LoginAttempt.email == email)
        if ip:
            query = query.where(LoginAttempt.ip == ip)
        return [attempt.id for attempt in query]


def _refusals(app, email):
    with in_db(app):
        return [r.reason for r in LoginRefusal.select().where(LoginRefusal.email == email)]


def _age(app, attempt_ids, age):
    """Make these attempts AGE old."""
    with in_db(app):
        LoginAttempt.update(created_at=utcnow() - age).where(LoginAttempt.id.in_(attempt_ids)).execute()


def test_parallel_wrong_passwords_are_counted_up_to_the_limit_and_the_rest_refused(app):
    """15 wrong passwords at the same moment, each in its own thread, connection and client:
    5 are heard (and counted), 10 refused unheard."""
    db.close()
    barrier = threading.Barrier(15)
    codes = [None] * 15

    def attempt(n):
        client = app.test_client()
        barrier.wait(timeout=30)
        try:
            codes[n] = _sign_in(client, BILLING, ip=f"192.0.2.{n + 1}").status_code
        finally:
            if not db.is_closed():
                db.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(15)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)

    assert sorted(codes) == [401] * 5 + [429] * 10
    assert len(_failures(app, BILLING)) == 5
    assert _refusals(app, BILLING) == ["email"] * 10


def test_refused_attempts_do_not_extend_the_lockout(app):
    client = app.test_client()
    for _ in range(5):
        assert _sign_in(client, BILLING).status_code == 401
    counted = _failures(app, BILLING)
    for _ in range(5):  # the user (or anyone) keeps trying while locked: refused, not counted
        assert _sign_in(client, BILLING, PASSWORD).status_code == 429
    assert _failures(app, BILLING) == counted
    assert _refusals(app, BILLING) == ["email"] * 5

    _age(app, counted, WINDOW + datetime.timedelta(seconds=1))  # the failures leave the window
    assert _sign_in(client, BILLING, PASSWORD).status_code == 302


def test_the_refusal_says_how_long_to_wait(app):
    client = app.test_client()
    for _ in range(5):
        _sign_in(client, BILLING)
    counted = _failures(app, BILLING)

    _age(app, counted, datetime.timedelta(minutes=8))
    response = _sign_in(client, BILLING, PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-in attempts. Try again in 7 minutes." in response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "420"

    _age(app, counted, datetime.timedelta(minutes=14, seconds=30))
    assert "Try again in 1 minute." in _sign_in(client, BILLING, PASSWORD).get_data(as_text=True)


def test_the_wait_is_until_the_oldest_counted_failure_leaves_the_window(app):
    client = app.test_client()
    for _ in range(5):
        _sign_in(client, BILLING)
    first, *rest = _failures(app, BILLING)
    _age(app, [first], datetime.timedelta(minutes=12))
    _age(app, rest, datetime.timedelta(minutes=2))
    assert "Try again in 3 minutes." in _sign_in(client, BILLING).get_data(as_text=True)


def _crowd_the_address(client, count=20):
    """COUNT wrong passwords from the busy address, each for an email nobody has."""
    for n in range(count):
        assert _sign_in(client, f"guess-{n}@nowhere.test", ip=BUSY).status_code == 401


def test_an_address_over_its_limit_lets_in_a_right_password_after_the_accounts_window(app):
    """An attacker in the office locks Billing out and keeps the office's address over its
    limit; once Billing's own failures are past the window, Billing's right password works."""
    client = app.test_client()
    for _ in range(5):
        assert _sign_in(client, BILLING, ip=BUSY).status_code == 401
    _crowd_the_address(client)
    assert len(_failures(app, ip=BUSY)) == 25  # well over the address's 20
    assert _sign_in(client, BILLING, PASSWORD, ip=BUSY).status_code == 429  # Billing's own lock

    _age(app, _failures(app, BILLING), WINDOW + datetime.timedelta(seconds=1))
    response = _sign_in(client, BILLING, PASSWORD, ip=BUSY)
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_an_address_over_its_limit_slows_an_account_that_failed_lately(app):
    """From the busy address an account gets one try per window; elsewhere it is unaffected."""
    client = app.test_client()
    _crowd_the_address(client)
    assert _sign_in(client, DISPATCH, ip=BUSY).status_code == 401  # its window was clear
    refused = _sign_in(client, DISPATCH, PASSWORD, ip=BUSY)
    assert refused.status_code == 429
    assert "Try again in 15 minutes." in refused.get_data(as_text=True)
    assert _refusals(app, DISPATCH) == ["address"]
    assert len(_failures(app, DISPATCH)) == 1  # the refusal was not counted

    assert _sign_in(client, DISPATCH, PASSWORD, ip=ELSEWHERE).status_code == 302


def test_a_right_password_is_recorded_as_a_success(app):
    client = app.test_client()
    assert _sign_in(client, DISPATCH, PASSWORD).status_code == 302
    with in_db(app):
        attempts = list(LoginAttempt.select().where(LoginAttempt.email == DISPATCH))
    assert [a.success for a in attempts] == [True]
