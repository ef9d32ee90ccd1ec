"""Sign in and out (webapp/auth): the form, the next-URL guard, rate limiting, the htmx wall, deactivation."""
import pytest

from tests.helpers import in_db
from webapp.models import LoginAttempt
from webapp.models import User


def test_login_page_has_labelled_fields(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<label for="email">Email</label>' in page
    assert '<label for="password">Password</label>' in page
    assert ">Sign in</button>" in page


def test_login_and_logout(client, auth):
    response = auth.login("admin")
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    auth.logout()
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused_and_recorded(client, auth, app):
    response = auth.login("admin", "wrong-password")
    assert response.status_code == 401
    assert "do not match" in response.get_data(as_text=True)
    with in_db(app):
        assert LoginAttempt.select().where(
            (LoginAttempt.email == "admin@demo.test") & (LoginAttempt.success == False)  # noqa: E712
        ).count() == 1


def test_repeated_failures_are_refused(client, auth):
    for _ in range(5):
        assert auth.login("billing", "nope-nope").status_code == 401
    response = auth.login("billing")  # even the right password, for now
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.get_data(as_text=True)


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)",
    "http:/evil.example",
])
def test_next_url_cannot_leave_the_site(client, target):
    response = client.post("/login?next=" + target,
                           data={"email": "admin@demo.test", "password": "demo-password"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_next_url_on_site_is_followed(client):
    response = client.post("/login?next=/loads/",
                           data={"email": "admin@demo.test", "password": "demo-password"})
    assert response.headers["Location"] == "/loads/"


def test_htmx_request_to_the_wall_gets_hx_redirect(client):
    response = client.get("/loads/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")
    assert "<form" not in response.get_data(as_text=True)


def test_deactivated_user_session_stops_working(client, auth, app):
    auth.login("dispatch")
    assert client.get("/").status_code == 200
    with in_db(app):
        User.update(active=False, session_version=User.session_version + 1).where(
            User.email == "dispatch@demo.test").execute()
    assert client.get("/").status_code == 302
    assert auth.login("dispatch").status_code == 401
