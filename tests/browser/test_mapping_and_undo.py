"""Issue 9's loop in Chromium: a factor's XLSX purchase report (title block, its own column names,
date cells, a totals row) mapped once and applied; the next file with the same header applied with
no mapping step; a payment workbook covering two batches uploaded on Reports > Factoring completes
the loads of both; undoing it puts them back to Financed with the reason in their history; the same
file applied again. axe-core finds no violation on the mapping step, the previews and the results."""
import datetime
import re

from playwright.sync_api import expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import sign_in
from tests.helpers import World
from tests.helpers import in_db
from tests.workbook_files import report_rows
from tests.workbook_files import xlsx
from webapp.models import Batch
from webapp.models import Load
from webapp.services import batches

HEADER = ["Inv #", "Load Ref", "Funded", "Face Value", "Net Advance", "Discount", "Holdback", "Sched #"]


def _ready_batch(app, count):
    with in_db(app):
        world = World()
        ids = world.eligible(count, world.freight)
        batch = batches.create_batch(world.company, world.freight, ids, world.billing)
        batches.run_batch(batch.id, stale_seconds=120)
        loads = list(Load.select().where(Load.id.in_(ids)).order_by(Load.load_number))
        return Batch.get_by_id(batch.id), loads


def _purchase_workbook(path, loads):
    body, total = [], 0
    for i, load in enumerate(loads):
        fee = round(load.total_cents * 0.025)
        body.append([load.invoice_number, load.load_number, datetime.date.today(), load.total_cents / 100,
                     (load.total_cents - fee) / 100, fee / 100, 0, f"S-{i}"])
        total += load.total_cents
    path.write_bytes(xlsx({"Funding": report_rows(HEADER, body, totals=["Total", "", "", total / 100])}))
    return str(path)


def _remittance_workbook(path, loads):
    header = ["Invoice", "Check #", "Date Received", "Amount Received", "Paid In Full"]
    body = [[x.invoice_number, f"CHK-{i}", datetime.date.today(), x.total_cents / 100, "Y"] for i, x in enumerate(loads)]
    path.write_bytes(xlsx({"Remittance": report_rows(header, body)}))
    return str(path)


def _statuses(app, loads):
    with in_db(app):
        return {x.billing_status for x in Load.select().where(Load.id.in_([x.id for x in loads]))}


def test_mapped_once_remittance_across_batches_undone_and_applied_again(page, live_server, tmp_path):
    app = live_server.app
    first, first_loads = _ready_batch(app, 2)
    second, second_loads = _ready_batch(app, 2)
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, "billing@demo.test")

    # 1. The factor's workbook: the mapping step, each column proposed; confirmed once.
    page.goto(f"/reports/factoring/batches/{first.id}")
    page.get_by_label("Purchase Report file (CSV, XLSX, XLS or ODS)").set_input_files(
        _purchase_workbook(tmp_path / "funding-1.xlsx", first_loads))
    page.get_by_role("button", name="Upload Purchase Report").click()
    step = page.get_by_test_id("report-mapping")
    expect(step).to_contain_text("which column holds what?")
    expect(page.get_by_label("Advance Amount")).to_have_value("netadvance")
    expect(page.get_by_label("Purchase Date")).to_have_value("funded")
    expect(page.get_by_label("Fee Amount")).to_have_value("discount")
    assert_accessible(page, "the mapping step")
    page.get_by_label("Purchase Date").select_option("")        # a required field left out: refused
    page.get_by_role("button", name="Use these columns").click()
    expect(page.get_by_test_id("mapping-errors")).to_contain_text("Purchase Date is required")
    page.get_by_label("Purchase Date").select_option("funded")
    page.get_by_role("button", name="Use these columns").click()
    preview = page.get_by_test_id("report-preview")
    expect(preview).to_contain_text("No errors.")
    expect(page.get_by_test_id("mapping-used")).to_contain_text("Read with the mapping saved on")
    expect(page.get_by_test_id("mapping-used")).to_contain_text("by Blair Billing")
    assert_accessible(page, "the preview read with the saved mapping")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_test_id("report-result")).to_contain_text("Purchase Report applied")
    assert _statuses(app, first_loads) == {"financed"}

    # 2. The next file with the same header: no mapping step.
    page.goto(f"/reports/factoring/batches/{second.id}")
    page.get_by_label("Purchase Report file (CSV, XLSX, XLS or ODS)").set_input_files(
        _purchase_workbook(tmp_path / "funding-2.xlsx", second_loads))
    page.get_by_role("button", name="Upload Purchase Report").click()
    expect(page.get_by_test_id("report-preview")).to_contain_text("No errors.")
    expect(page.get_by_test_id("report-mapping")).to_have_count(0)
    expect(page.get_by_test_id("mapping-used")).to_be_visible()
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_test_id("report-result")).to_contain_text("Purchase Report applied")
    assert _statuses(app, second_loads) == {"financed"}

    # 3. A remittance covering both batches, on Reports > Factoring: mapped once, then applied.
    remittance = _remittance_workbook(tmp_path / "remittance.xlsx", first_loads + second_loads)
    page.goto("/reports/factoring")
    page.get_by_test_id("upload-remittance").click()
    page.get_by_label("Payment Report file (CSV, XLSX, XLS or ODS)").set_input_files(remittance)
    page.get_by_role("button", name="Upload Payment Report").click()
    expect(page.get_by_test_id("report-mapping")).to_be_visible()
    expect(page.get_by_label("Amount Paid")).to_have_value("amountreceived")
    page.get_by_role("button", name="Use these columns").click()
    expect(page.get_by_test_id("report-preview")).to_contain_text("No errors.")
    expect(page.get_by_test_id("remittance-batches")).to_contain_text("2 batches")
    assert_accessible(page, "the remittance preview")
    page.get_by_role("button", name="Confirm").click()
    result = page.get_by_test_id("report-result")
    expect(result).to_contain_text("Payment Report applied")
    assert _statuses(app, first_loads + second_loads) == {"completed"}

    # 4. Undo, with a reason: every load back to Financed, the reason in its history.
    page.get_by_label("Reason").fill("Remittance belongs to another client")
    page.get_by_role("button", name="Reverse this report").click()
    expect(page.get_by_test_id("reversed")).to_contain_text("Remittance belongs to another client")
    assert_accessible(page, "the reversed remittance")
    assert _statuses(app, first_loads + second_loads) == {"financed"}
    page.goto(f"/loads/{second_loads[0].id}")
    history = page.locator("#history")
    expect(history).to_contain_text("Reversed by Blair Billing: Remittance belongs to another client")
    expect(history.get_by_role("link", name=re.compile("Reversed by Blair Billing"))).to_have_attribute(
        "href", re.compile(r"/reports/factoring/uploads/\d+$"))

    # 5. The same file applied again: read with the mapping saved in step 3.
    page.goto("/reports/factoring/payment-report")
    page.get_by_label("Payment Report file (CSV, XLSX, XLS or ODS)").set_input_files(remittance)
    page.get_by_role("button", name="Upload Payment Report").click()
    expect(page.get_by_test_id("report-preview")).to_contain_text("No errors.")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_test_id("report-result")).to_contain_text("Payment Report applied")
    assert _statuses(app, first_loads + second_loads) == {"completed"}
