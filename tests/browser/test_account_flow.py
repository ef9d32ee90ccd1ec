"""An invited person in Chromium: the admin adds them, the invitation arrives on a real SMTP
server on 127.0.0.1, they choose a password, set up two-factor sign-in from My account
(the secret read off the page as a person would type it into an app), sign out, and sign in
again with a code; axe-core finds no violation on the pages on the way."""
import re
import time

import pyotp
import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import sign_in
from tests.mail_server import SmtpServer
from tests.mail_server import use_mail_url

PASSWORD = "copper kettle on the stove"


@pytest.fixture
def smtp(live_server):
    server = SmtpServer().start()
    use_mail_url(live_server.app, server.url)
    yield server
    server.stop()
    use_mail_url(live_server.app, "")


def _wait_for(predicate, seconds=30):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_invitation_password_two_factor_and_sign_in_with_a_code(page, live_server, smtp):
    sign_in(page, "admin@demo.test")
    page.goto("/users/new")
    page.get_by_label("Name").fill("Nora New")
    page.get_by_label("Email").fill("nora@demo.test")
    page.get_by_role("button", name="Add user and send invitation").click()
    expect(page.get_by_text("We emailed them an invitation")).to_be_visible()
    expect(page.locator("tr[data-user='nora@demo.test']")).to_contain_text("Invited")
    page.get_by_role("button", name="Sign out", exact=True).click()

    _wait_for(lambda: smtp.messages)  # the queue worker delivers it
    [invitation] = smtp.messages
    assert invitation["To"] == "nora@demo.test"
    link = re.search(r"http://\S+/invitation/[\w-]+", invitation.get_body(("plain",)).get_content()).group(0)
    page.goto(link[link.index("/invitation/"):])
    expect(page.get_by_role("heading", name="Choose your password")).to_be_visible()
    assert_accessible(page, "the invitation page")
    page.get_by_label(re.compile(r"^New password(?! again)")).fill(PASSWORD)
    page.get_by_label("New password again").fill(PASSWORD + "!")
    page.get_by_role("button", name="Set my password").click()
    expect(page.get_by_text("The two passwords are not the same.")).to_be_visible()
    assert_accessible(page, "the invitation page with an error")
    page.get_by_label(re.compile(r"^New password(?! again)")).fill(PASSWORD)
    page.get_by_label("New password again").fill(PASSWORD)
    page.get_by_role("button", name="Set my password").click()
    expect(page.get_by_text("Your password is set.")).to_be_visible()

    sign_in(page, "nora@demo.test", PASSWORD)
    page.get_by_role("link", name="Nora New").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    expect(page.locator("#sign-ins")).to_contain_text("This browser")
    assert_accessible(page, "My account")
    page.get_by_role("link", name="Set up two-factor sign-in").click()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    assert_accessible(page, "the two-factor set-up page")
    totp = pyotp.TOTP(page.get_by_test_id("totp-secret").inner_text().strip())
    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_text("Two-factor sign-in is on.")).to_be_visible()
    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    assert_accessible(page, "the recovery codes")
    page.get_by_role("link", name="I have kept them").click()
    expect(page.locator("#two-factor")).to_contain_text("10 of 10 recovery codes left")
    page.get_by_role("button", name="Sign out", exact=True).click()

    page.goto("/login")
    page.get_by_label("Email").fill("nora@demo.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    assert_accessible(page, "the code page")
    page.get_by_label("Code").fill("000000" if totp.now() != "000000" else "111111")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("That code does not match.")).to_be_visible()
    assert_accessible(page, "the code page with an error")
    # The enrolment used this window's code: the app's next one is the one to type.
    page.get_by_label("Code").fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Nora New")).to_be_visible()
    assert "/login" not in page.url
