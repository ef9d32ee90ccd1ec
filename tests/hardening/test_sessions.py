"""Sessions end on the server (finding 4): sign-out, deactivation and a password change end
them, and so do an absolute lifetime and an idle timeout, whatever the cookie says.

A copied cookie is replayed from a second client, as a thief would; times are moved back in
the database instead of waiting.
"""
import datetime

from tests.helpers import DEMO_USERS
from tests.helpers import PASSWORD
from tests.helpers import in_db
from webapp import create_app
from webapp.models import User
from webapp.models import UserSession
from webapp.models import utcnow
from webapp.services.auth import end_sessions
from webapp.services.auth import session_row_id


def _signed_in(app, who="admin"):
    client = app.test_client()
    response = client.post("/login", data={"email": DEMO_USERS[who], "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    return client


def _copy(app, client):
    """A second client holding a copy of CLIENT's session cookie (same User-Agent)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def _token(client):
    with client.session_transaction() as sess:
        return sess["_user_id"].split(":", 2)[2]


def _row(app, client):
    with in_db(app):
        return UserSession.get_by_id(session_row_id(_token(client)))


def _signed_out(response):
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def _move(app, client, **ages):
    """Set the session's time columns to now minus the given timedeltas."""
    now = utcnow()
    with in_db(app):
        UserSession.update(**{column: now - age for column, age in ages.items()}).where(
            UserSession.id == session_row_id(_token(client))).execute()


def test_a_copied_cookie_stops_working_after_sign_out(app):
    client = _signed_in(app)
    thief = _copy(app, client)
    assert thief.get("/").status_code == 200  # the copy is as good as the original...
    token = _token(client)

    assert _signed_out(client.post("/logout"))
    assert _signed_out(thief.get("/"))  # ...until the owner signs out
    assert _signed_out(thief.get("/loads/"))
    with in_db(app):
        assert UserSession.get_by_id(session_row_id(token)).ended_at is not None


def test_an_htmx_request_after_sign_out_is_sent_to_sign_in_and_comes_back(app):
    client = _signed_in(app)
    thief = _copy(app, client)
    client.post("/logout")

    response = thief.get("/loads/?page=2", headers={
        "HX-Request": "true", "HX-Current-URL": "http://localhost/loads/?status=queued"})
    assert response.status_code == 401
    target = response.headers["HX-Redirect"]
    assert target == "/login?next=/loads/?status%3Dqueued"  # the page, not the fragment
    assert b"<form" not in response.data

    page = thief.get(target).get_data(as_text=True)
    assert "Your session has ended" in page
    back = thief.post(target, data={"email": DEMO_USERS["admin"], "password": PASSWORD})
    assert back.headers["Location"] == "/loads/?status=queued"


def test_an_htmx_request_from_another_site_does_not_choose_where_to_come_back(app):
    client = _signed_in(app)
    client.post("/logout")
    response = client.get("/loads/", headers={"HX-Request": "true",
                                               "HX-Current-URL": "https://evil.example/loads/"})
    assert response.headers["HX-Redirect"] == "/login"


def test_deactivation_signs_out_the_other_clients_of_that_user(app):
    dispatch_laptop = _signed_in(app, "dispatch")
    dispatch_phone = _signed_in(app, "dispatch")
    admin = _signed_in(app, "admin")
    with in_db(app):
        dispatch = User.get(User.email == DEMO_USERS["dispatch"])

    assert admin.post(f"/users/{dispatch.id}/deactivate").status_code == 303
    assert _signed_out(dispatch_laptop.get("/"))
    assert _signed_out(dispatch_phone.get("/"))
    with in_db(app):
        assert not UserSession.select().where((UserSession.user == dispatch.id)
                                              & UserSession.ended_at.is_null()).exists()
    assert admin.get("/").status_code == 200


def test_end_sessions_can_keep_the_browser_that_asked(app):
    """What a password change will do: every other session of the user ends."""
    here = _signed_in(app, "billing")
    there = _signed_in(app, "billing")
    with in_db(app):
        ended = end_sessions(User.get(User.email == DEMO_USERS["billing"]), except_token=_token(here))
    assert ended == 1
    assert here.get("/").status_code == 200
    assert _signed_out(there.get("/"))


def test_a_session_ends_after_its_absolute_lifetime_even_when_in_use(app):
    client = _signed_in(app)
    _move(app, client, created_at=datetime.timedelta(hours=11, minutes=58),
          last_seen_at=datetime.timedelta(minutes=2))
    assert client.get("/").status_code == 200
    _move(app, client, created_at=datetime.timedelta(hours=12, minutes=1),
          last_seen_at=datetime.timedelta(minutes=2))
    assert _signed_out(client.get("/"))


def test_a_session_ends_at_its_expiry_time(app):
    client = _signed_in(app)
    _move(app, client, expires_at=datetime.timedelta(seconds=1))
    assert _signed_out(client.get("/"))


def test_a_session_ends_after_the_idle_timeout(app):
    client = _signed_in(app)
    _move(app, client, last_seen_at=datetime.timedelta(minutes=29))
    assert client.get("/").status_code == 200  # in use again: seen now
    assert utcnow() - _row(app, client).last_seen_at < datetime.timedelta(minutes=1)
    _move(app, client, last_seen_at=datetime.timedelta(minutes=31))
    assert _signed_out(client.get("/"))


def test_last_seen_is_written_at_most_once_a_minute(app):
    client = _signed_in(app)
    _move(app, client, last_seen_at=datetime.timedelta(seconds=30))
    before = _row(app, client).last_seen_at
    client.get("/")
    assert _row(app, client).last_seen_at == before
    _move(app, client, last_seen_at=datetime.timedelta(seconds=61))
    client.get("/")
    assert _row(app, client).last_seen_at > before


def test_sign_in_opens_a_session_row_with_the_address_and_browser(app):
    client = app.test_client()
    client.post("/login", data={"email": DEMO_USERS["admin"], "password": PASSWORD},
                headers={"User-Agent": "TestBrowser/1.0"}, environ_base={"REMOTE_ADDR": "192.0.2.9"})
    row = _row(app, client)
    assert (row.ip, row.user_agent, row.ended_at) == ("192.0.2.9", "TestBrowser/1.0", None)
    assert row.expires_at - row.created_at == datetime.timedelta(hours=12)
    assert row.id != _token(client)  # the table keeps a digest, not the cookie's token


def test_a_token_works_only_for_its_own_user(app):
    admin = _signed_in(app, "admin")
    billing = _signed_in(app, "billing")
    with in_db(app):
        billing_user = User.get(User.email == DEMO_USERS["billing"])
    with admin.session_transaction() as sess:
        sess["_user_id"] = f"{billing_user.id}:{billing_user.session_version}:{_token(admin)}"
    assert _signed_out(admin.get("/"))
    with admin.session_transaction() as sess:
        sess["_user_id"] = f"{billing_user.id}:{billing_user.session_version}:"
    assert _signed_out(admin.get("/"))
    assert billing.get("/").status_code == 200


def test_the_cookies_live_no_longer_than_a_session(db_url):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": db_url,
                      "QUEUE_URL": "immediate", "SESSION_LIFETIME_HOURS": 2})
    assert app.permanent_session_lifetime == datetime.timedelta(hours=2)
    assert app.config["REMEMBER_COOKIE_DURATION"] == datetime.timedelta(hours=2)
