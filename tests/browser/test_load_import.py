"""Loads through the real UI in Chromium: import a CSV, filter the list, enter a load."""
import os
import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in

DATA = os.path.join(os.path.dirname(__file__), "..", "data")


def test_import_csv_preview_then_import_and_find_the_loads(page):
    sign_in(page, "billing@demo.test")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Loads").click()
    page.get_by_role("link", name="Import from CSV").click()
    expect(page.get_by_role("heading", name="Import loads")).to_be_visible()

    # A file with mistakes: the preview names them by row and column, in place.
    page.get_by_label("File (CSV, XLSX, XLS or ODS)").set_input_files(os.path.join(DATA, "loads_errors.csv"))
    page.get_by_role("button", name="Preview").click()
    errors = page.locator("table.import-errors")
    expect(errors).to_contain_text("already exists")
    expect(errors.locator("tr", has_text="Demo Frieght LLC")).to_contain_text("Subsidiary")
    expect(page.get_by_role("button", name=re.compile(r"^Import \d+ loads?$"))).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/loads/import$"))

    # The corrected file: preview, then Import commits every load.
    page.get_by_label("File (CSV, XLSX, XLS or ODS)").set_input_files(os.path.join(DATA, "loads_good.csv"))
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("table.import-rows tbody tr")).to_have_count(3)
    expect(page.get_by_text("3 loads ready to import, total $8,602.50")).to_be_visible()
    page.get_by_role("button", name="Import 3 loads").click()

    expect(page.get_by_role("status").filter(has_text="Imported 3 loads")).to_be_visible()
    page.wait_for_url(re.compile(r"/loads/\?"))  # waits for load: htmx is set up by then
    page.get_by_label("Load or invoice number").fill("IMP-200")
    table = page.locator("#loads-table")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(page).to_have_url(re.compile(r"q=IMP-200"))
    expect(table).to_contain_text("Midwest Grain Cooperative")
    table.get_by_role("link", name="IMP-2001").click()
    expect(page.get_by_role("heading", name=re.compile("Load IMP-2001"))).to_be_visible()
    expect(page.get_by_test_id("load-total")).to_have_text("$2,967.50")
    expect(page.locator("#history")).to_contain_text("Import of loads_good.csv, row 2")


def test_enter_a_load_with_an_added_line_and_filter_the_list(page):
    sign_in(page, "dispatch@demo.test")
    page.goto("/loads/new")
    page.get_by_label("Subsidiary", exact=True).select_option(label="Demo Logistics Inc")
    page.get_by_label("Customer", exact=True).select_option(label="Blue Ridge Logistics")
    page.get_by_label("Load number").fill("UI-5001")
    page.get_by_label("Invoice number").fill("INV-UI-5001")
    amounts = page.locator("input[name=line_amount]")
    amounts.nth(0).fill("1,500.00")
    amounts.nth(1).fill("225")
    page.get_by_role("button", name="+ Add line").click()
    expect(amounts).to_have_count(4)
    page.locator("input[name=line_description]").nth(3).fill("Lumper")
    amounts.nth(3).fill("85.00")
    expect(page.locator("[data-line-total]")).to_have_text("$1,810.00")
    page.get_by_role("button", name="Create load").click()

    expect(page.get_by_role("heading", name=re.compile("Load UI-5001"))).to_be_visible()
    expect(page.get_by_test_id("load-total")).to_have_text("$1,810.00")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Loads").click()
    page.wait_for_url(re.compile(r"/loads/$"))
    page.get_by_label("Subsidiary", exact=True).select_option(label="Demo Logistics Inc")
    page.get_by_label("Customer", exact=True).select_option(label="Blue Ridge Logistics")
    expect(page).to_have_url(re.compile(r"customer=\d+"))
    expect(page.locator("#loads-table")).to_contain_text("UI-5001")
    rows = page.locator("#loads-table tbody tr")
    expect(rows.first).to_be_visible()
    for text in rows.all_inner_texts():
        assert "Blue Ridge Logistics" in text and "Demo Logistics Inc" in text

    # Sorting and paging swap the table in place and keep the filters in the address.
    page.get_by_role("link", name="Clear", exact=True).click()
    page.locator("#loads-table").get_by_role("link", name="Total").click()
    expect(page).to_have_url(re.compile(r"sort=total&dir=asc"))
    page.locator("#loads-table").get_by_role("link", name=re.compile("Total")).click()
    expect(page).to_have_url(re.compile(r"sort=total&dir=desc"))
    totals = [float(t.replace("$", "").replace(",", ""))
              for t in page.locator("#loads-table tbody td.num").all_inner_texts()]
    assert totals == sorted(totals, reverse=True)
    page.get_by_role("link", name="Next →").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(page.locator("#loads-table .pager")).to_contain_text("Page 2 of")
    expect(page.locator("#loads-filters")).to_be_visible()


def _pdf(path, pages=1):
    from pypdf import PdfWriter
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=612, height=792)
    with open(path, "wb") as fh:
        writer.write(fh)
    return path


def test_load_documents_upload_refuse_and_remove(page, live_server, tmp_path):
    sign_in(page, "dispatch@demo.test")
    page.goto("/loads/?q=DT-1001")
    page.locator("#loads-table").get_by_role("link", name="DT-1001").click()
    page.wait_for_url(re.compile(r"/loads/\d+$"))
    documents = page.locator("#documents")
    rows = documents.locator("tbody tr")
    expect(rows).to_have_count(2)  # the demo's rate confirmation and proof of delivery

    documents.get_by_label("Kind").select_option(label="Proof of delivery")
    documents.get_by_label("File", exact=True).set_input_files(_pdf(tmp_path / "pod-1001.pdf"))
    documents.get_by_role("button", name="Upload document").click()
    expect(rows).to_have_count(3)
    expect(documents).to_contain_text("pod-1001.pdf")

    documents.get_by_label("File", exact=True).set_input_files(os.path.join(DATA, "loads_good.csv"))
    documents.get_by_role("button", name="Upload document").click()
    expect(documents.get_by_role("alert")).to_contain_text("loads_good.csv is not a PDF, JPEG, PNG or TIFF file")
    expect(rows).to_have_count(3)

    live_server.app.config["MAX_CONTENT_LENGTH"] = 20_000
    documents.get_by_label("File", exact=True).set_input_files(_pdf(tmp_path / "big.pdf", pages=200))
    documents.get_by_role("button", name="Upload document").click()
    expect(documents.locator("[data-upload-error]")).to_contain_text("too large")
    expect(rows).to_have_count(3)

    page.once("dialog", lambda dialog: dialog.accept())
    rows.filter(has_text="pod-1001.pdf").get_by_role("button", name="Remove").click()
    expect(rows).to_have_count(2)
    expect(documents).not_to_contain_text("pod-1001.pdf")
