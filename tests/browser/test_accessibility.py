"""WCAG 2.1 AA in Chromium: axe-core (vendored, tests/browser/axe.py) on every page in each state
it reaches (dialogs open, previews shown, errors shown); the phone width (390 px: no page scrolls
sideways, wide tables scroll in their box, the header folds into a Menu button)."""
import csv
import datetime
import io
import os
import re
import zipfile

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import sign_in
from webapp.services.money import format_cents
from webapp.services.money import parse_money
from webapp.services.reports.parsing import PURCHASE_COLUMNS

DATA = os.path.join(os.path.dirname(__file__), "..", "data")
SCREENSHOTS = os.environ.get("SCREENSHOT_DIR", "/tmp")

# Pages a signed-in admin reaches from the menu, and those reached from them.
PAGES = ["/", "/management/company-profile/", "/management/company-profile/subsidiaries/new",
         "/management/factors/", "/management/factors/new", "/users/", "/users/new", "/customers/",
         "/customers/new", "/loads/", "/loads/new", "/loads/import", "/accounting/factoring-upload/",
         "/reports/factoring/", "/account/"]


def _no_sideways_scroll(page):
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def _submit_batch(page, count=3):
    """Submit Batch of COUNT loads through the page; the batch page once its file is ready."""
    page.goto("/accounting/factoring-upload/")
    boxes = page.locator("input[name=load_id]")
    for n in range(count):
        boxes.nth(n).check()
    page.get_by_role("button", name="Submit Batch").click()
    expect(page.get_by_role("status").filter(has_text="submitted")).to_be_visible()
    return page


def _batch_page_when_ready(page):
    page.goto("/reports/factoring/")
    expect(page.get_by_role("link", name="Download batch #1")).to_be_visible(timeout=30_000)
    page.get_by_role("link", name="#1", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("Batch #1"))).to_be_visible()


def _purchase_report(path, page):
    """A Purchase Report buying every load of the batch on PAGE (from the schedule it downloads)."""
    with page.expect_download() as download_info:
        page.get_by_test_id("download-batch").first.click()
    with open(download_info.value.path(), "rb") as fh:
        schedule = zipfile.ZipFile(io.BytesIO(fh.read())).read("schedule.csv").decode("utf-8-sig")
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(PURCHASE_COLUMNS)
        for i, row in enumerate(r for r in csv.DictReader(io.StringIO(schedule)) if r["Invoice Number"] != "Total"):
            amount = parse_money(row["Amount"])
            fee = round(amount * 0.025)
            writer.writerow([row["Invoice Number"], row["Load Number"], datetime.date.today().strftime("%m/%d/%Y"),
                             format_cents(amount), format_cents(amount - fee), format_cents(fee), "0.00",
                             "purchased", "", f"CD-{i}"])
    return str(path)


def test_every_page_passes_axe_in_each_state(page, live_server, tmp_path):
    sign_in(page, "admin@demo.test")
    for url in PAGES:
        page.goto(url)
        assert_accessible(page, url)

    # Detail pages reached from the lists.
    page.goto("/loads/")
    page.locator("table.data tbody a").first.click()
    assert_accessible(page, "a load's page")
    page.goto("/customers/")
    page.locator("table.data tbody a").first.click()
    assert_accessible(page, "a customer's form")
    page.goto("/management/factors/")
    page.locator("table.data tbody a").first.click()
    assert_accessible(page, "a factor's page")

    # Errors shown: a load form sent empty, an import with errors previewed.
    page.goto("/loads/new")
    page.get_by_role("button", name="Create load").click()
    expect(page.locator(".field-error").first).to_be_visible()
    assert_accessible(page, "the load form with its errors")
    page.goto("/loads/import")
    page.locator("input[type=file]").first.set_input_files(os.path.join(DATA, "loads_errors.csv"))
    page.get_by_role("button", name=re.compile("Upload|Preview|Check")).first.click()
    expect(page.locator("tr.row-error, .flash-error").first).to_be_visible()
    assert_accessible(page, "the load import preview with errors")

    # A dialog open: Manage Important Info on Company Profile.
    page.goto("/management/company-profile/")
    page.locator("#doc-config").get_by_role("link").or_(page.locator("#doc-config").get_by_role("button")).first.click()
    expect(page.locator("dialog[open]")).to_be_visible()
    assert_accessible(page, "Company Profile with the Manage Important Info dialog open")
    page.keyboard.press("Escape")

    # Factoring Upload after Submit Batch, the batch page, a preview shown and one refused.
    _submit_batch(page)
    assert_accessible(page, "Factoring Upload after Submit Batch")
    _batch_page_when_ready(page)
    assert_accessible(page, "the batch page")
    page.locator("#purchase-report-file").set_input_files(_purchase_report(tmp_path / "Purchase_Report.csv", page))
    page.get_by_role("button", name="Upload Purchase Report").click()
    expect(page.get_by_test_id("report-preview")).to_be_visible()
    assert_accessible(page, "the batch page with a Purchase Report preview")
    bad = tmp_path / "bad.csv"
    bad.write_text("Invoice Number,Purchase Date\r\nNOPE-1,31/31/2026\r\n", encoding="utf-8")
    page.locator("#purchase-report-file").set_input_files(str(bad))
    page.get_by_role("button", name="Upload Purchase Report").click()
    expect(page.locator(".flash-error, [role=alert]").first).to_be_visible()
    assert_accessible(page, "the batch page with a refused Purchase Report")


def test_signed_out_pages_pass_axe_with_and_without_errors(page, live_server):
    page.goto("/login")
    assert_accessible(page, "the sign-in page")
    page.get_by_label("Email").fill("billing@demo.test")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".flash-error, .field-error, [role=alert]").first).to_be_visible()
    assert_accessible(page, "the sign-in page with an error")


@pytest.mark.parametrize("who", ["admin@demo.test", "billing@demo.test"])
def test_at_phone_width_no_page_scrolls_sideways_and_the_menu_folds(page, live_server, who):
    sign_in(page, who)
    _submit_batch(page)  # Reports > Factoring has a batch to show
    page.set_viewport_size({"width": 390, "height": 844})
    for url in PAGES + ["/reports/factoring/batches/1"]:
        page.goto(url)
        assert _no_sideways_scroll(page), f"{url} scrolls sideways at 390 px"
    page.goto("/loads/")
    with page.expect_navigation():
        page.locator("table.data tbody a").first.click()
    assert _no_sideways_scroll(page), "a load's page scrolls sideways at 390 px"
    page.goto("/reports/factoring/")
    header = page.locator("header.topbar")
    assert header.bounding_box()["height"] < 60, "the header is one row"
    toggle = page.get_by_role("button", name="Menu")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    wrap = page.locator(".table-wrap").first
    assert wrap.evaluate("el => el.scrollWidth > el.clientWidth"), "the wide table scrolls inside its box"
    if who == "billing@demo.test":
        page.screenshot(path=os.path.join(SCREENSHOTS, "s2-reports-factoring-390.png"), full_page=True)
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    assert _no_sideways_scroll(page)
    assert_accessible(page, "Reports > Factoring at 390 px with the menu open")
