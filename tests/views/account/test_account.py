"""My account (webapp/account): recent sign-ins, Sign out other sessions, change password,
two-factor enrolment; and Support / Partner Admin sent to enrolment until they have it."""
import re

import pyotp

from tests.helpers import DEMO_USERS
from tests.helpers import PASSWORD
from tests.helpers import in_db
from webapp.models import AuditLog
from webapp.models import Company
from webapp.models import User
from webapp.models import UserSession
from webapp.services.auth import check_password

GOOD = "copper kettle on the stove"
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"


def _client(app, who="billing", agent=FIREFOX, ip="203.0.113.7"):
    client = app.test_client()
    client.environ_base.update({"HTTP_USER_AGENT": agent, "REMOTE_ADDR": ip})
    response = client.post("/login", data={"email": DEMO_USERS[who], "password": PASSWORD})
    assert response.status_code == 302
    return client


def _open(app, who="billing"):
    with in_db(app):
        user = User.get(User.email == DEMO_USERS[who])
        return UserSession.select().where((UserSession.user == user.id) & UserSession.ended_at.is_null()).count()


def test_my_account_lists_recent_sign_ins_with_address_and_browser(app):
    _client(app, ip="198.51.100.4", agent="curl/8.0")
    here = _client(app)
    html = here.get("/account/").get_data(as_text=True)
    assert "<h2 id=\"sign-ins-h\">Recent sign-ins</h2>" in html
    assert "203.0.113.7" in html and "Firefox on Windows" in html and "This browser" in html
    assert "198.51.100.4" in html and "curl" in html
    assert "Sign out other sessions" in html


def test_sign_out_other_sessions_keeps_this_one(app):
    there = _client(app, ip="198.51.100.4")
    here = _client(app)
    response = here.post("/account/sessions/end-others", follow_redirects=True)
    assert "Signed out 1 other session." in response.get_data(as_text=True)
    assert here.get("/").status_code == 200
    assert there.get("/").headers["Location"].startswith("/login")
    with in_db(app):
        assert AuditLog.get(AuditLog.action == "user.sessions_end").details == '{"sessions_ended": 1}'


def test_change_password_signs_out_the_other_sessions(app):
    there = _client(app, ip="198.51.100.4")
    here = _client(app)
    response = here.post("/account/password", data={"current": PASSWORD, "new": GOOD, "confirm": GOOD},
                         follow_redirects=True)
    assert "Your password is changed. 1 other session signed out." in response.get_data(as_text=True)
    assert there.get("/").status_code == 302 and _open(app) == 1
    with in_db(app):
        assert check_password(User.get(User.email == "billing@demo.test"), GOOD)


def test_a_refused_password_change_says_why_and_changes_nothing(app):
    _client(app, ip="198.51.100.4")
    here = _client(app)
    for data, field, message in [
        ({"current": "nope", "new": GOOD, "confirm": GOOD}, "current", "That is not your current password."),
        ({"current": PASSWORD, "new": GOOD, "confirm": "other"}, "confirm", "The two passwords are not the same."),
        ({"current": PASSWORD, "new": "Password2024!", "confirm": "Password2024!"}, "new", "most common"),
    ]:
        response = here.post("/account/password", data=data)
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert re.search(rf'id="f-{field}-error">[^<]*{re.escape(message)}', html), field
        assert GOOD not in html and PASSWORD not in html  # nothing typed is echoed
    assert _open(app) == 2
    with in_db(app):
        assert check_password(User.get(User.email == "billing@demo.test"), PASSWORD)


def _enrol(client):
    page = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page).group(1)
    assert '<svg role="img"' in page and "<title>QR code for your authenticator app</title>" in page
    return secret


def test_enrol_from_my_account_then_sign_in_needs_the_code(app):
    client = _client(app)
    secret = _enrol(client)
    bad = client.post("/account/two-factor", data={"code": "12"})
    assert bad.status_code == 400 and "That code does not match" in bad.get_data(as_text=True)
    done = client.post("/account/two-factor", data={"code": pyotp.TOTP(secret).now()})
    html = done.get_data(as_text=True)
    codes = re.findall(r"<li><code>([a-z0-9-]{19})</code></li>", html)
    assert len(codes) == 10 and "shown only now" in html
    assert "10 of 10 recovery codes left" in client.get("/account/").get_data(as_text=True)
    client.post("/logout")

    response = client.post("/login", data={"email": "billing@demo.test", "password": PASSWORD})
    assert response.headers["Location"] == "/login/code"
    assert client.get("/").headers["Location"].startswith("/login")  # not signed in yet
    wrong = client.post("/login/code", data={"code": "000000x"})
    assert wrong.status_code == 400 and "That code does not match" in wrong.get_data(as_text=True)
    response = client.post("/login/code", data={"code": codes[0]})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "recovery code: 9 left" in client.get("/").get_data(as_text=True)


def test_the_code_step_keeps_where_the_user_was_going(app):
    client = app.test_client()
    client.post("/login?next=/loads/", data={"email": "support@demo.test", "password": PASSWORD})
    from tests.helpers import recovery_codes
    response = client.post("/login/code", data={"code": recovery_codes("support")[0]})
    assert response.headers["Location"] == "/loads/"


def test_the_code_step_without_a_password_first_goes_back_to_sign_in(app):
    response = app.test_client().post("/login/code", data={"code": "123456"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_support_without_two_factor_is_sent_to_enrolment_first(app):
    with in_db(app):
        User.update(two_factor_enabled_at=None, two_factor_secret="").where(
            User.email == "support@demo.test").execute()
    client = _client(app, "support")
    response = client.get("/loads/?status=queued")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/two-factor?next=/loads/?status%3Dqueued"
    htmx = client.get("/loads/", headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/users/"})
    assert htmx.headers["HX-Redirect"] == "/account/two-factor?next=/users/" and b"<form" not in htmx.data
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "required for your account" in page
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page).group(1)
    done = client.post("/account/two-factor?next=/loads/", data={"code": pyotp.TOTP(secret).now()})
    assert 'href="/loads/">I have kept them' in done.get_data(as_text=True)
    assert client.get("/loads/").status_code == 200


def test_a_company_that_requires_two_factor_sends_its_users_to_enrol(app, world):
    with in_db(app):
        Company.update(require_two_factor=True).where(Company.id == world.company.id).execute()
    client = _client(app, "dispatch")
    assert client.get("/").headers["Location"].startswith("/account/two-factor")
    assert _client(app, "other").get("/").status_code == 200


def test_turning_two_factor_off_where_optional(app):
    client = _client(app)
    secret = _enrol(client)
    client.post("/account/two-factor", data={"code": pyotp.TOTP(secret).now()})
    wrong = client.post("/account/two-factor/off", data={"password": "nope"})
    assert wrong.status_code == 400 and "That is not your password." in wrong.get_data(as_text=True)
    response = client.post("/account/two-factor/off", data={"password": PASSWORD}, follow_redirects=True)
    assert "Two-factor sign-in is off." in response.get_data(as_text=True)
    assert client.post("/logout") and client.post(
        "/login", data={"email": "billing@demo.test", "password": PASSWORD}).headers["Location"] == "/"


def test_idle_timeout_follows_the_setting_and_htmx_comes_back(app):
    import datetime

    from webapp.models import utcnow
    app.config["SESSION_IDLE_MINUTES"] = 5
    client = _client(app)
    with in_db(app):
        UserSession.update(last_seen_at=utcnow() - datetime.timedelta(minutes=6)).execute()
    response = client.get("/loads/?page=2", headers={"HX-Request": "true",
                                                      "HX-Current-URL": "http://localhost/account/"})
    assert response.status_code == 401 and response.headers["HX-Redirect"] == "/login?next=/account/"
    back = client.post("/login?next=/account/", data={"email": "billing@demo.test", "password": PASSWORD})
    assert back.headers["Location"] == "/account/"
    assert "after 5 minutes without use" in client.get("/account/").get_data(as_text=True)
