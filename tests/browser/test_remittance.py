"""A remittance across batches in Chromium: a payment workbook covering two batches, uploaded on
Reports > Factoring, previewed by batch and confirmed, completes loads of both."""
import datetime

from playwright.sync_api import expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import sign_in
from tests.workbook_files import report_rows
from tests.workbook_files import xlsx
from webapp.services.reports.parsing import PAYMENT_COLUMNS


def test_a_payment_workbook_covering_two_batches_completes_loads_of_both(page, live_server, make_batch, tmp_path):
    a, la = make_batch("financed", count=2)
    b, lb = make_batch("financed", count=2)
    paid_on = datetime.date.today() - datetime.timedelta(days=1)
    paid = [la[0], lb[0], lb[1]]
    body = [[x.invoice_number, x.load_number, paid_on, x.total_cents / 100, f"ACH-{8800 + i}", "ACH", 0, 0, "yes", "", ""]
            for i, x in enumerate(paid)]
    path = tmp_path / "Capital_Depot_remittance.xlsx"
    path.write_bytes(xlsx({"Remittance": report_rows(PAYMENT_COLUMNS, body, notes=("Paid by debtors today.",))}))

    sign_in(page, "billing@demo.test")
    page.goto("/reports/factoring/")
    page.get_by_test_id("upload-remittance").click()
    expect(page.get_by_role("heading", name="Upload Payment Report", exact=True)).to_be_visible()
    assert_accessible(page, "Upload Payment Report")
    page.get_by_label("Subsidiary", exact=True).select_option(label="Demo Freight LLC")
    page.get_by_label("Factor", exact=True).select_option(label="Capital Depot")
    page.get_by_label("Payment Report file (CSV, XLSX, XLS or ODS)").set_input_files(path)
    page.get_by_role("button", name="Upload Payment Report").click()

    preview = page.get_by_test_id("report-preview")
    expect(preview).to_contain_text("No errors.")
    expect(preview).to_contain_text("Sheet read: Remittance.")
    groups = preview.get_by_test_id("remittance-batch")
    expect(groups).to_have_count(2)
    expect(groups.nth(0)).to_contain_text(f"Batch {a.number}")
    expect(groups.nth(1)).to_contain_text(f"Batch {b.number}")
    expect(preview.locator(".badge.action-complete")).to_have_count(3)
    assert_accessible(page, "the remittance preview")

    preview.get_by_role("button", name="Confirm").click()
    result = page.get_by_test_id("report-result")
    expect(result).to_contain_text("3 completed in 2 batches")
    expect(page.locator("#remittance-applied")).to_contain_text("Capital_Depot_remittance.xlsx")  # in place
    assert_accessible(page, "the remittance result")

    result.get_by_role("link", name=f"Batch {b.number}").click()
    for load in lb:
        expect(page.get_by_test_id("batch-load").filter(has_text=load.load_number)).to_contain_text("Completed")
    page.goto(f"/reports/factoring/batches/{a.id}")
    rows = page.get_by_test_id("batch-load")
    expect(rows.filter(has_text=la[0].load_number)).to_contain_text("Completed")
    expect(rows.filter(has_text=la[1].load_number)).to_contain_text("Financed")

    page.goto("/reports/factoring/payment-report")
    expect(page.locator("#applied-heading + *")).to_contain_text("Capital_Depot_remittance.xlsx")
