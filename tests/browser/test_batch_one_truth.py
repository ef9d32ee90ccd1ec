"""Every part of the batch page tells the same truth after each action, without a reload
(issue 12, item 1): Submit Batch completing, Mark as sent, Confirm of a Purchase and of a
Payment Report, an undo, Retry and Cancel. After each, the header badge, the state line, the
money, the loads table and the applied reports agree, and so does Factoring Upload's box.

The job is held part-way (a gate in the invoice step of the live server's worker thread), so
the progress is seen counting, as a clerk sees it on a long batch."""
import os
import re
import threading

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import sign_in
from tests.helpers import payment_csv
from tests.helpers import purchase_csv
from webapp.database import connection
from webapp.models import Load
from webapp.services.batches import batch_file
from webapp.services.batches import formats

SHOTS = os.environ.get("SCREENSHOT_DIR", "")


def shot(page, name):
    """A screenshot for the closing note, when SCREENSHOT_DIR is set."""
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


class Gate:
    """Holds the worker after the Nth invoice until opened (or 60 s)."""

    def __init__(self, after):
        self.after, self.drawn = after, 0
        self.reached, self.opened = threading.Event(), threading.Event()

    def wrap(self, real):
        def invoice(load, contents):
            pdf = real(load, contents)
            self.drawn += 1
            if self.drawn == self.after:
                self.reached.set()
                self.opened.wait(60)
            return pdf
        return invoice


@pytest.fixture
def gate(monkeypatch):
    """The job stops after its 11th invoice: progress 10 of 12 has been written (every 10)."""
    held = Gate(after=11)
    monkeypatch.setattr(formats, "_invoice", held.wrap(formats._invoice))
    yield held
    held.opened.set()


def mark_page(page):
    """A value that a reload would wipe out."""
    page.evaluate("window.__sameDocument = 'no reload'")


def assert_not_reloaded(page):
    assert page.evaluate("window.__sameDocument") == "no reload"


def expect_batch_page(page, *, badge, line, statuses, money, applied=(), not_applied=()):
    """The header badge, the state line, the loads table, the money and the applied reports."""
    expect(page.get_by_test_id("batch-state-badge")).to_have_text(badge, timeout=30_000)
    expect(page.get_by_test_id("state-line")).to_have_text(line)
    rows = page.get_by_test_id("batch-load")
    expect(rows).to_have_count(sum(statuses.values()))
    for status, count in statuses.items():
        expect(rows.filter(has=page.locator(".badge", has_text=re.compile(f"^{status}$")))).to_have_count(count)
    expect(page.get_by_test_id("batch-money")).to_contain_text(money)
    listed = page.locator("#report-upload-list")
    for name in applied:
        expect(listed).to_contain_text(name)
    for name in not_applied:
        expect(listed).not_to_contain_text(name)
    assert_accessible(page, f"the batch page, {badge}")


def expect_box(page, number, state):
    """Factoring Upload's box shows batch NUMBER in STATE, or not at all (STATE None)."""
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_text("Accounting", exact=True).click()
    nav.get_by_role("link", name="Factoring Upload").click()
    box = page.get_by_test_id("batch-box")
    expect(box).to_be_visible()
    line = box.get_by_test_id("batch-line").filter(has=page.get_by_role("link", name=f"Batch #{number}", exact=True))
    if state is None:
        expect(line).to_have_count(0)
    else:
        expect(line).to_have_attribute("data-state", state)
    assert_accessible(page, f"Factoring Upload, batch #{number} {state or 'not listed'}")
    return line


def open_factoring_upload(page):
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_text("Accounting", exact=True).click()
    nav.get_by_role("link", name="Factoring Upload").click()


def submit(page, count):
    boxes = page.locator("input[name=load_id]")
    numbers = []
    for n in range(count):
        boxes.nth(n).check()
        numbers.append(page.locator(f"label[for={boxes.nth(n).get_attribute('id')}]").inner_text())
    page.get_by_role("button", name="Submit Batch").click()
    return numbers


def batch_loads(app, numbers):
    with app.app_context(), connection():
        by_number = {x.load_number: x for x in Load.select().where(Load.load_number.in_(numbers))}
        return [by_number[n] for n in numbers]


def upload_and_confirm(page, label, path):
    page.get_by_label(f"{label} file (CSV, XLSX, XLS or ODS)").set_input_files(path)
    page.get_by_role("button", name=f"Upload {label}").click()
    expect(page.get_by_test_id("report-preview")).to_contain_text("No errors.")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_test_id("report-result")).to_contain_text(f"{label} applied")


def test_submit_completing_sent_confirm_and_undo_redraw_the_whole_batch_page(page, live_server, gate, tmp_path):
    sign_in(page, "billing@demo.test")
    open_factoring_upload(page)
    numbers = submit(page, 12)

    # Factoring Upload's line counts while the job runs, with the time left.
    assert gate.reached.wait(60)
    line = page.get_by_test_id("batch-line").first
    expect(line).to_have_attribute("data-state", "generating")
    expect(line).to_contain_text("Generating invoice 11 of 12")
    expect(line).to_contain_text("left")
    expect(line.locator("progress")).to_have_attribute("value", "10")
    assert_accessible(page, "Factoring Upload, a batch generating")
    shot(page, "factoring-upload-generating")

    line.get_by_role("link", name="Open batch #1").click()
    expect_batch_page(page, badge="Generating", line="Generating invoice 11 of 12", statuses={"Queued": 12},
                      money="12 Queued")
    expect(page.get_by_test_id("time-left")).to_contain_text("10 of 12 done")
    shot(page, "batch-generating")
    mark_page(page)

    # Submit Batch completing: every region turns at once, no reload.
    gate.opened.set()
    expect_batch_page(page, badge="Ready to send", line="Ready to send", statuses={"Invoiced": 12},
                      money="12 Invoiced, 0 Financed, 0 Completed")
    expect(page.get_by_text("File details")).to_be_visible()
    expect(page.get_by_role("button", name="Upload Purchase Report")).to_be_visible()
    assert_not_reloaded(page)

    # Mark as sent.
    page.get_by_role("button", name="Mark as sent to Capital Depot").click()
    expect(page.get_by_test_id("batch-notice-message")).to_have_text("Batch #1 is marked as sent.")
    expect(page.locator("#batch-notice")).to_be_focused()  # focus on what the action said
    expect_batch_page(page, badge="Sent", line="Sent to Capital Depot", statuses={"Invoiced": 12},
                      money="12 Invoiced")
    expect(page.get_by_test_id("batch-sent")).to_contain_text("Blair Billing")
    assert_not_reloaded(page)
    shot(page, "batch-before-purchase-report")

    # Confirm of the Purchase Report.
    loads = batch_loads(live_server.app, numbers)
    (tmp_path / "Purchase_Report.csv").write_bytes(purchase_csv(loads))
    upload_and_confirm(page, "Purchase Report", tmp_path / "Purchase_Report.csv")
    expect_batch_page(page, badge="Funded", line="Funded", statuses={"Financed": 12},
                      money="12 Financed, 0 Completed", applied=["Purchase_Report.csv"])
    assert_not_reloaded(page)
    shot(page, "batch-after-purchase-report")

    # Confirm of the Payment Report.
    (tmp_path / "Payments_Report.csv").write_bytes(payment_csv(loads))
    upload_and_confirm(page, "Payment Report", tmp_path / "Payments_Report.csv")
    expect_batch_page(page, badge="Paid", line="Paid", statuses={"Completed": 12},
                      money="0 Financed, 12 Completed", applied=["Purchase_Report.csv", "Payments_Report.csv"])
    assert_not_reloaded(page)
    shot(page, "batch-after-payment-report")

    # Undo of the Payment Report, from its result: back to Funded everywhere.
    result = page.get_by_test_id("report-result")
    result.get_by_label("Reason").fill("Applied to the wrong batch")
    page.once("dialog", lambda dialog: dialog.accept())
    result.get_by_role("button", name="Reverse this report").click()
    expect_batch_page(page, badge="Funded", line="Funded", statuses={"Financed": 12},
                      money="12 Financed, 0 Completed", applied=["Purchase_Report.csv"],
                      not_applied=["Payments_Report.csv"])
    assert_not_reloaded(page)
    shot(page, "batch-after-undo")

    # Factoring Upload's box: a sent batch needs no action.
    expect_box(page, 1, None)


@pytest.fixture
def failing_invoices(monkeypatch):
    """Invoices cannot be drawn until the test says so (the job fails, as with a broken font)."""
    broken = threading.Event()
    broken.set()
    real = batch_file.render_invoice

    def render(*args, **kwargs):
        if broken.is_set():
            raise RuntimeError("the invoice font is missing")
        return real(*args, **kwargs)
    monkeypatch.setattr(batch_file, "render_invoice", render)
    return broken


def _failed_batch_page(page, failing_invoices):
    sign_in(page, "billing@demo.test")
    open_factoring_upload(page)
    submit(page, 3)
    line = page.get_by_test_id("batch-line").first
    expect(line).to_have_attribute("data-state", "failed", timeout=30_000)
    expect(line).to_contain_text("the invoice font is missing")
    line.get_by_role("link", name="Open batch #1").click()
    expect_batch_page(page, badge="Failed", line=re.compile("^Failed — .*the invoice font is missing"),
                      statuses={"Queued": 3}, money="3 Queued")
    expect(page.get_by_test_id("batch-money")).to_contain_text("After the Purchase Report")  # "—", not $0.00
    mark_page(page)


def test_retry_redraws_the_whole_batch_page(page, live_server, failing_invoices):
    _failed_batch_page(page, failing_invoices)
    shot(page, "batch-failed")
    failing_invoices.clear()
    page.get_by_role("button", name="Retry").click()
    expect(page.get_by_test_id("batch-notice-message")).to_have_text("Batch #1 is being generated again.")
    expect_batch_page(page, badge="Ready to send", line="Ready to send", statuses={"Invoiced": 3},
                      money="3 Invoiced")
    expect(page.get_by_role("button", name="Retry")).to_have_count(0)
    expect(page.get_by_test_id("download-batch")).to_be_visible()
    assert_not_reloaded(page)
    line = expect_box(page, 1, "ready")
    expect(line).to_contain_text("Download the batch file and send it to Capital Depot")
    # Mark as sent from the box: the line says so, and it is gone on the next visit.
    line.get_by_role("button", name="Mark as sent: batch #1").click()
    expect(page.get_by_test_id("batch-line").first).to_contain_text("Marked as sent to Capital Depot")
    expect_box(page, 1, None)


def test_cancel_redraws_the_whole_batch_page(page, live_server, failing_invoices):
    _failed_batch_page(page, failing_invoices)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel batch").click()
    expect(page.get_by_test_id("batch-notice-message")).to_contain_text("its 3 loads are back on Factoring Upload")
    expect(page.get_by_test_id("batch-state-badge")).to_have_text("Cancelled")
    expect(page.get_by_test_id("state-line")).to_have_text("Cancelled")
    expect(page.get_by_test_id("batch-load").filter(has_text="Left the batch: Batch cancelled")).to_have_count(3)
    expect(page.get_by_test_id("batch-money")).to_contain_text("0 loads in the batch")
    expect(page.get_by_role("button", name="Cancel batch")).to_have_count(0)
    assert_not_reloaded(page)
    shot(page, "batch-cancelled")
    expect_box(page, 1, None)
