"""The whole loop of the product in Chromium, through the real UI:
Queued -> Submit Batch -> Invoiced -> Purchase Report -> Financed -> Payment Report -> Completed."""
import csv
import datetime
import io
import re
import zipfile

from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from webapp.services.money import format_cents
from webapp.services.money import parse_money
from webapp.services.reports.parsing import PURCHASE_COLUMNS


def _read_csv(data):
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def _write_csv(path, headers, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(headers)
        writer.writerows(rows)
    return path


def _submit_batch_of_three(page):
    page.get_by_text("Accounting", exact=True).click()
    page.get_by_role("link", name="Factoring Upload").click()
    boxes = page.locator("input[name=load_id]")
    for n in range(3):
        boxes.nth(n).check()
    page.get_by_role("button", name="Submit Batch").click()
    progress = page.get_by_test_id("batch-line").first
    expect(progress).to_have_attribute("data-state", "ready", timeout=30_000)
    with page.expect_download() as download_info:
        progress.get_by_role("link", name="Download batch #1").click()
    with open(download_info.value.path(), "rb") as fh:
        schedule = zipfile.ZipFile(io.BytesIO(fh.read())).read("schedule.csv")
    progress.get_by_role("link", name="Open batch #1").click()
    expect(page.get_by_role("heading", name=re.compile("Batch #1"))).to_be_visible()
    return [row for row in _read_csv(schedule) if row["Invoice Number"] != "Total"]


def _upload(page, label, path):
    page.get_by_label(f"{label} file (CSV, XLSX, XLS or ODS)").set_input_files(path)
    page.get_by_role("button", name=f"Upload {label}").click()
    preview = page.get_by_test_id("report-preview")
    expect(preview).to_contain_text("No errors.")
    return preview


def test_queued_to_completed_through_the_real_ui(page, live_server, tmp_path):
    problems = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    sign_in(page, "billing@demo.test")
    schedule = _submit_batch_of_three(page)
    assert len(schedule) == 3
    rows = page.get_by_test_id("batch-load")
    for invoice in schedule:
        expect(rows.filter(has_text=invoice["Load Number"])).to_contain_text("Invoiced")

    # The factor bought everything: 100 % minus a 2 % fee, no reserve (Capital Depot's terms).
    purchase = []
    for i, item in enumerate(schedule):
        amount = parse_money(item["Amount"])
        fee = round(amount * 0.02)
        purchase.append([item["Invoice Number"], item["Load Number"], datetime.date.today().strftime("%m/%d/%Y"),
                         f"${amount / 100:,.2f}", format_cents(amount - fee), format_cents(fee), "0.00",
                         "purchased", "", f"CD-{5000 + i}"])
    preview = _upload(page, "Purchase Report", _write_csv(tmp_path / "Purchase_Report.csv", PURCHASE_COLUMNS, purchase))
    expect(preview.locator(".badge.action-finance")).to_have_count(3)
    page.get_by_role("button", name="Confirm").click()
    result = page.get_by_test_id("report-result")
    expect(result).to_contain_text("Purchase Report applied")
    expect(result).to_contain_text("3 financed")
    expect(page.get_by_test_id("batch-money")).to_contain_text("3 Financed")  # refreshed in place
    result.get_by_role("link", name="Back to batch 1").click()
    for invoice in schedule:
        expect(page.get_by_test_id("batch-load").filter(has_text=invoice["Load Number"])).to_contain_text("Financed")

    # The payment report starts from the pre-filled template of this batch.
    with page.expect_download() as download_info:
        page.locator("#report-uploads").get_by_role("link", name="Pre-filled for batch 1").nth(1).click()
    with open(download_info.value.path(), "rb") as fh:
        template = _read_csv(fh.read())
    assert sorted(r["Invoice Number"] for r in template) == sorted(r["Invoice Number"] for r in schedule)
    for i, row in enumerate(template):
        row["Payment Date"] = "12/20/2026"
        assert row["Amount Paid"] == ""  # left for the clerk: the balance is beside it, never read
        row["Amount Paid"] = row["Balance Due"]
        row["Reference"] = f"ACH-{9100 + i}"
        row["Payment Method"] = "ACH"
    _write_csv(tmp_path / "Payments_Report.csv", list(template[0]), [list(r.values()) for r in template])
    preview = _upload(page, "Payment Report", tmp_path / "Payments_Report.csv")
    expect(preview.locator(".badge.action-complete")).to_have_count(3)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_test_id("report-result")).to_contain_text("3 completed")
    page.get_by_test_id("report-result").get_by_role("link", name="Back to batch 1").click()
    for invoice in schedule:
        expect(page.get_by_test_id("batch-load").filter(has_text=invoice["Load Number"])).to_contain_text("Completed")
    expect(page.get_by_test_id("batch-money")).to_contain_text("3 Completed")
    applied = page.locator("#report-upload-list")
    expect(applied).to_contain_text("Payments_Report.csv")
    expect(applied).to_contain_text("Purchase_Report.csv")

    # The load page shows the payment and the history pointing to the uploads.
    first = schedule[0]
    page.goto(f"/loads/?q={first['Load Number']}")
    page.get_by_role("link", name=first["Load Number"], exact=True).first.click()
    payments = page.locator("section", has=page.get_by_role("heading", name="Payments"))
    expect(payments).to_contain_text("ACH-9100")
    expect(payments).to_contain_text(f"${parse_money(first['Amount']) / 100:,.2f}")
    history = page.locator("#history")
    expect(history).to_contain_text("Completed")
    expect(history).to_contain_text("Financed")
    assert not [p for p in problems if "Content Security Policy" in p], problems


def test_a_wrong_file_is_refused_in_place_and_rows_with_errors_download(page, live_server, tmp_path):
    sign_in(page, "billing@demo.test")
    schedule = _submit_batch_of_three(page)
    # The schedule itself uploaded by mistake.
    _write_csv(tmp_path / "schedule.csv", list(schedule[0]), [list(r.values()) for r in schedule])
    page.get_by_label("Purchase Report file (CSV, XLSX, XLS or ODS)").set_input_files(tmp_path / "schedule.csv")
    page.get_by_role("button", name="Upload Purchase Report").click()
    expect(page.locator("#report-work")).to_contain_text("This is the batch schedule sent to the factor")
    # A report with a bad amount and a missing invoice.
    rows = [[s["Invoice Number"], s["Load Number"], "2026-11-25", s["Amount"], "12O0.00", "", "", "", "", ""]
            for s in schedule[:2]]
    page.get_by_label("Purchase Report file (CSV, XLSX, XLS or ODS)").set_input_files(
        _write_csv(tmp_path / "bad.csv", PURCHASE_COLUMNS, rows))
    page.get_by_role("button", name="Upload Purchase Report").click()
    preview = page.get_by_test_id("report-preview")
    expect(preview).to_contain_text("nothing can be applied")
    expect(preview).to_contain_text(schedule[2]["Invoice Number"])  # listed as missing
    expect(preview.locator("tr.row-error")).to_have_count(2)
    expect(preview.get_by_role("button", name="Confirm")).to_have_count(0)
    with page.expect_download() as download_info:
        preview.get_by_role("link", name="Download rows with errors").last.click()
    with open(download_info.value.path(), "rb") as fh:
        errors = _read_csv(fh.read())
    assert [e["Row"] for e in errors if e["Row"]] == ["2", "3"]
    assert all("'12O0.00' is not an amount" in e["Error"] for e in errors if e["Row"])
