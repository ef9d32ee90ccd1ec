"""Forgot password?, the reset page and the invitation page (webapp/auth), against a real SMTP
server on 127.0.0.1: the same answer for any email, rate-limited, links once and in time."""
import datetime
import re

from tests.helpers import PASSWORD
from tests.helpers import in_db
from webapp.models import AccountToken
from webapp.models import User
from webapp.models import utcnow
from webapp.services.auth import check_password

GOOD = "copper kettle on the stove"


def _link(message, path):
    text = message.get_body(("plain",)).get_content()
    return re.search(rf"http://localhost(/{path}/[\w-]+)", text).group(1)


def test_sign_in_page_offers_forgot_password(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'href="/forgot-password">Forgot password?</a>' in html


def test_forgot_password_answers_the_same_for_a_known_and_an_unknown_email(client, smtp_server):
    known = client.post("/forgot-password", data={"email": "billing@demo.test"}, follow_redirects=True)
    unknown = client.post("/forgot-password", data={"email": "nobody@demo.test"}, follow_redirects=True)

    def strip(response):  # the email typed, and the CSRF token (it carries the time), aside
        html = response.get_data(as_text=True).replace("billing@demo.test", "E").replace("nobody@demo.test", "E")
        return re.sub(r'"X-CSRFToken": "[^"]+"', "", html)
    assert known.status_code == unknown.status_code == 200
    assert strip(known) == strip(unknown)
    assert "we sent it a link to reset the password" in known.get_data(as_text=True)
    assert [m["To"] for m in smtp_server.messages] == ["billing@demo.test"]


def test_reset_through_the_emailed_link(app, client, smtp_server):
    other = app.test_client()
    other.post("/login", data={"email": "billing@demo.test", "password": PASSWORD})
    client.post("/forgot-password", data={"email": "billing@demo.test"})
    link = _link(smtp_server.messages[0], "reset-password")
    page = client.get(link).get_data(as_text=True)
    assert "Reset your password" in page and "For billing@demo.test" in page
    refused = client.post(link, data={"password": GOOD, "confirm": "something else entirely"})
    assert refused.status_code == 400 and "The two passwords are not the same." in refused.get_data(as_text=True)
    done = client.post(link, data={"password": GOOD, "confirm": GOOD}, follow_redirects=True)
    assert "Your password is changed" in done.get_data(as_text=True)
    assert other.get("/").status_code == 302  # every session ended
    assert client.post("/login", data={"email": "billing@demo.test", "password": GOOD}).headers["Location"] == "/"
    again = app.test_client().get(link)
    assert again.status_code == 410 and "This link was already used." in again.get_data(as_text=True)


def test_a_second_reset_link_voids_the_first(client, smtp_server):
    client.post("/forgot-password", data={"email": "billing@demo.test"})
    client.post("/forgot-password", data={"email": "billing@demo.test"})
    first, second = (_link(m, "reset-password") for m in smtp_server.messages)
    response = client.post(first, data={"password": GOOD, "confirm": GOOD})
    assert response.status_code == 410 and "A newer link was sent" in response.get_data(as_text=True)
    assert client.get(second).status_code == 200


def test_an_expired_or_altered_link_is_refused_and_changes_nothing(app, client, smtp_server):
    client.post("/forgot-password", data={"email": "billing@demo.test"})
    link = _link(smtp_server.messages[0], "reset-password")
    altered = client.post(link[:-2] + "zz", data={"password": GOOD, "confirm": GOOD})
    assert altered.status_code == 410 and "This link is not valid." in altered.get_data(as_text=True)
    with in_db(app):
        AccountToken.update(expires_at=utcnow() - datetime.timedelta(seconds=1)).execute()
    expired = client.post(link, data={"password": GOOD, "confirm": GOOD})
    assert expired.status_code == 410 and "This link has expired." in expired.get_data(as_text=True)
    with in_db(app):
        assert check_password(User.get(User.email == "billing@demo.test"), PASSWORD)


def test_a_reset_requested_100_times_is_refused_after_three(client, smtp_server):
    codes = [client.post("/forgot-password", data={"email": "billing@demo.test"}).status_code for _ in range(100)]
    assert codes[:3] == [303] * 3 and set(codes[3:]) == {429}
    refused = client.post("/forgot-password", data={"email": "billing@demo.test"})
    assert "Too many reset requests. Try again in" in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) >= 60
    assert len(smtp_server.messages) == 3


def test_forgot_password_refuses_a_bad_email_with_a_message(client, smtp_server):
    for email in ("", "not-an-email", "a@b.c\r\nBcc: x@evil.test"):
        response = client.post("/forgot-password", data={"email": email})
        assert response.status_code == 400
        assert "Enter the email address you sign in with." in response.get_data(as_text=True)
    assert smtp_server.messages == []


def test_invitation_link_sets_the_password_once(app, client, auth, smtp_server):
    auth.login("admin")
    client.post("/users/new", data={"email": "new.clerk@demo.test", "name": "New Clerk", "role": "user"})
    auth.logout()
    link = _link(smtp_server.messages[0], "invitation")
    page = client.get(link).get_data(as_text=True)
    assert "Choose your password" in page and "new.clerk@demo.test" in page
    weak = client.post(link, data={"password": "new.clerk@demo.test", "confirm": "new.clerk@demo.test"})
    assert weak.status_code == 400 and "not your email address" in weak.get_data(as_text=True)
    assert client.post("/login", data={"email": "new.clerk@demo.test", "password": ""}).status_code == 400
    done = client.post(link, data={"password": GOOD, "confirm": GOOD}, follow_redirects=True)
    assert "Your password is set. Sign in with it now." in done.get_data(as_text=True)
    assert client.post("/login", data={"email": "new.clerk@demo.test", "password": GOOD}).status_code == 302
    assert app.test_client().get(link).status_code == 410
