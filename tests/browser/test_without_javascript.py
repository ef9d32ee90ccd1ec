"""Without JavaScript, in Chromium: the forms still work as plain forms (pick a subsidiary,
Submit Batch, upload a report, Confirm), and a refused upload, one too large included (413),
comes back to the page it was sent from with the message."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.helpers import text_pdf


@pytest.fixture
def plain_page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False,
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_the_forms_work_as_plain_forms(plain_page, live_server, tmp_path):
    page = plain_page
    sign_in(page, "billing@demo.test")
    page.goto("/accounting/factoring-upload/")
    # The subsidiary picker has its own button.
    page.get_by_label("Subsidiary").select_option(label="Demo Logistics Inc")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"subsidiary_id="))
    page.get_by_label("Subsidiary").select_option(label="Demo Freight LLC")
    page.get_by_role("button", name="Show").click()
    # The menu is open as it is (no Menu button without JavaScript).
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    boxes = page.locator("input[name=load_id]")
    for n in range(2):
        boxes.nth(n).check()
    page.get_by_role("button", name="Submit Batch").click()
    expect(page.get_by_text(re.compile("Batch #1 submitted"))).to_be_visible()


def test_a_too_large_document_comes_back_to_the_load_with_the_message(plain_page, live_server, tmp_path):
    page = plain_page
    live_server.app.config["MAX_CONTENT_LENGTH"] = 4096
    sign_in(page, "billing@demo.test")
    page.goto("/loads/")
    page.locator("table.data tbody a").first.click()
    address = page.url
    big = tmp_path / "signed-bol.pdf"
    big.write_bytes(text_pdf(40))
    page.locator("#doc-file").set_input_files(str(big))
    page.get_by_role("button", name="Upload document").click()
    expect(page.get_by_text("That file is too large: the limit is")).to_be_visible()
    assert page.url.split("#")[0] == address.split("#")[0]
    expect(page.get_by_role("heading", name="Documents")).to_be_visible()


def test_a_refused_document_comes_back_with_the_message(plain_page, live_server, tmp_path):
    page = plain_page
    sign_in(page, "billing@demo.test")
    page.goto("/loads/")
    page.locator("table.data tbody a").first.click()
    broken = tmp_path / "photo.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 200)
    page.locator("#doc-file").set_input_files(str(broken))
    page.get_by_role("button", name="Upload document").click()
    expect(page.get_by_text(re.compile("photo.jpg is a JPEG file that cannot be read"))).to_be_visible()
