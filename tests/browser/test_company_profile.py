"""Management > Company Profile in Chromium: the Notice of Assignment through the dialog."""
import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in

NOA = ("NOTICE OF ASSIGNMENT\n"
       "\n"
       "This invoice has been assigned to, and must be paid only to:\n"
       "    Capital Depot Funding, LLC\n"
       "    P.O. Box 4410, Dallas, TX 75208\n"
       "<b>Not bold</b>")


def _open_company_profile(page):
    page.get_by_text("Management", exact=True).click()
    page.get_by_role("link", name="Company Profile").click()
    expect(page.get_by_role("heading", name="Company Profile", level=1)).to_be_visible()
    page.wait_for_load_state("load")  # the picker sends its form once the page's script runs


def test_admin_sets_the_noa_of_demo_logistics_through_the_dialog(page):
    sign_in(page, "admin@demo.test")
    _open_company_profile(page)
    page.get_by_label("Subsidiary").select_option(label="Demo Logistics Inc")
    expect(page.get_by_role("heading", name="Demo Logistics Inc")).to_be_visible()
    expect(page.get_by_text("No Notice of Assignment.")).to_be_visible()

    page.get_by_role("button", name="Add important info").click()
    dialog = page.get_by_role("dialog", name="Manage Important Info")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Type").select_option(label="Notice of Assignment")
    dialog.get_by_label("Text").fill(NOA)
    dialog.get_by_role("button", name="Save").click()

    expect(dialog).to_have_count(0)
    expect(page.get_by_role("status")).to_contain_text("Notice of Assignment saved for Demo Logistics Inc.")
    text = page.get_by_test_id("info-text-noa")
    expect(text).to_have_text(NOA)  # line breaks and the HTML kept as text
    lines = text.evaluate("el => el.innerText").split("\n")
    assert lines[:3] == ["NOTICE OF ASSIGNMENT", "", "This invoice has been assigned to, and must be paid only to:"]
    expect(text.locator("b")).to_have_count(0)
    expect(page.get_by_text("No Notice of Assignment.")).to_have_count(0)
    expect(page.locator(".history")).to_contain_text("Added")

    # Still there after a reload: saved, not only drawn.
    page.reload()
    expect(page.get_by_test_id("info-text-noa")).to_have_text(NOA)


def test_dialog_shows_errors_inside_and_keeps_the_text(page):
    sign_in(page, "admin@demo.test")
    page.goto("/management/company-profile/")
    page.get_by_role("button", name="Add important info").click()
    dialog = page.get_by_role("dialog", name="Manage Important Info")
    dialog.get_by_label("Text").fill("Some remit-to text")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_text("Choose a type:")).to_be_visible()
    expect(dialog.get_by_label("Text")).to_have_value("Some remit-to text")
    dialog.get_by_label("Type").select_option(label="Remit To")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_test_id("info-text-remit_to")).to_have_text("Some remit-to text")


def test_replacing_the_noa_keeps_the_old_text_in_history(page):
    sign_in(page, "admin@demo.test")
    page.goto("/management/company-profile/")
    page.get_by_role("link", name="Edit Notice of Assignment").click()
    dialog = page.get_by_role("dialog", name="Manage Important Info")
    expect(dialog.get_by_label("Text")).to_have_value(re.compile("Capital Depot Funding"))
    dialog.get_by_label("Text").fill("REVISED NOTICE\nPay Capital Depot only.")
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("info-text-noa")).to_have_text("REVISED NOTICE\nPay Capital Depot only.")
    history = page.locator(".history")
    expect(history).to_contain_text("Replaced")
    history.get_by_text("Show").first.click()
    expect(history.locator(".noa-text").first).to_contain_text("Capital Depot Funding, LLC")


def test_cancel_closes_the_dialog_without_saving(page):
    sign_in(page, "admin@demo.test")
    page.goto("/management/company-profile/")
    page.get_by_role("button", name="Add important info").click()
    dialog = page.get_by_role("dialog", name="Manage Important Info")
    dialog.get_by_label("Type").select_option(label="Invoice Footer")
    dialog.get_by_label("Text").fill("Never saved")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_test_id("info-text-invoice_footer")).to_have_count(0)


def test_remove_asks_for_confirmation(page):
    sign_in(page, "admin@demo.test")
    page.goto("/management/company-profile/")
    messages = []
    page.once("dialog", lambda d: (messages.append(d.message), d.accept()))
    page.get_by_role("button", name="Remove Notice of Assignment").click()
    expect(page.get_by_text("No Notice of Assignment.")).to_be_visible()
    assert messages and "Remove the Notice of Assignment of Demo Freight LLC?" in messages[0]
    expect(page.locator(".history")).to_contain_text("Removed")


def test_dispatch_sees_no_plus_button(page):
    sign_in(page, "dispatch@demo.test")
    _open_company_profile(page)
    expect(page.get_by_role("heading", name="Document Configuration")).to_be_visible()
    expect(page.get_by_test_id("info-text-noa")).to_contain_text("NOTICE OF ASSIGNMENT")
    expect(page.get_by_role("button", name="Add important info")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit details")).to_have_count(0)
    expect(page.get_by_role("button", name="Remove Notice of Assignment")).to_have_count(0)
