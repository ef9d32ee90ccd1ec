"""Sign in through the real login page in Chromium."""
from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def test_admin_signs_in_and_sees_the_company_and_menu(page):
    sign_in(page, "admin@demo.test")
    expect(page.get_by_test_id("company-in-view")).to_have_text("Demo Trucking")
    page.get_by_text("Accounting", exact=True).click()
    expect(page.get_by_role("link", name="Factoring Upload")).to_be_visible()


def test_wrong_password_shows_a_message(page):
    page.goto("/login")
    page.get_by_label("Email").fill("admin@demo.test")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("status")).to_contain_text("do not match")
