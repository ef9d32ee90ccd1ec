"""Messy report files (services/reports): read right, or refused naming row and column, changing nothing."""
import datetime

import pytest

from tests.helpers import PURCHASE_DATE
from tests.helpers import csv_bytes
from tests.helpers import payment_rows
from tests.helpers import purchase_rows
from tests.helpers import reload
from tests.helpers import snapshot
from webapp.models import BATCH_RUNNING
from webapp.models import COMPLETED
from webapp.models import FINANCED
from webapp.models import INVOICED
from webapp.models import QUEUED
from webapp.models import Batch
from webapp.models import Load
from webapp.models import Payment
from webapp.models import ReportUpload
from webapp.services import batches
from webapp.services import reports as report_apply
from webapp.services.money import format_cents
from webapp.services.reports.parsing import PAYMENT_COLUMNS
from webapp.services.reports.parsing import PURCHASE_COLUMNS


@pytest.fixture
def setup(submitted_batch, world, dbconn):
    """A submitted batch of three loads, and the billing user."""
    batch, loads = submitted_batch
    return batch, loads, world.billing


# --- files that work ------------------------------------------------------------------

def _purchase(loads, **fmt):
    return csv_bytes(PURCHASE_COLUMNS, purchase_rows(loads), **fmt)


def _dollars(loads):
    rows = purchase_rows(loads)
    for row, load in zip(rows, loads):
        fee = round(load.total_cents * 0.03)
        row[3] = "$" + f"{load.total_cents // 100:,}.{load.total_cents % 100:02d}"
        row[4] = "$" + f"{(load.total_cents - fee) // 100:,}.{(load.total_cents - fee) % 100:02d}"
        row[5] = f"${fee // 100}.{fee % 100:02d}"
    return csv_bytes(PURCHASE_COLUMNS, rows)


def _dates(style):
    def build(loads):
        rows = purchase_rows(loads)
        for row in rows:
            row[2] = PURCHASE_DATE.strftime(style)
        return csv_bytes(PURCHASE_COLUMNS, rows)
    return build


def _odd_headers(loads):
    headers = ["INVOICE_NUMBER", "load number", "Purchase_Date", "invoice amount", "ADVANCE AMOUNT",
               "Fee_Amount", "reserve_amount", " Status ", "REASON", "factor-reference"]
    return csv_bytes(headers, purchase_rows(loads))


def _extra_columns(loads):
    headers = ["Batch Ref"] + PURCHASE_COLUMNS + ["Debtor", "Notes"]
    return csv_bytes(headers, [["B-9"] + r + ["Summit", "ok"] for r in purchase_rows(loads)])


def _blank_lines(loads):
    rows = purchase_rows(loads)
    blank = [""] * len(PURCHASE_COLUMNS)
    return csv_bytes(PURCHASE_COLUMNS, [blank, rows[0], blank, rows[1], rows[2], blank, blank])


def _duplicated_row(loads):
    rows = purchase_rows(loads)
    return csv_bytes(PURCHASE_COLUMNS, rows + [rows[1]])


def _load_numbers_only(loads):
    rows = purchase_rows(loads)
    for row in rows:
        row[0] = ""
    return csv_bytes(PURCHASE_COLUMNS, rows)


WORKING = {
    "utf8_bom": lambda loads: _purchase(loads, bom=True),
    "windows_1252_crlf": lambda loads: _purchase(loads, encoding="cp1252"),
    "lf_line_ends": lambda loads: _purchase(loads, newline="\n"),
    "cr_line_ends": lambda loads: _purchase(loads, newline="\r"),
    "semicolons": lambda loads: _purchase(loads, delimiter=";"),
    "tabs": lambda loads: _purchase(loads, delimiter="\t"),
    "dollar_amounts_with_commas": _dollars,
    "iso_dates": _dates("%Y-%m-%d"),
    "us_dates_4_digit_year": _dates("%m/%d/%Y"),
    "us_dates_2_digit_year": _dates("%m/%d/%y"),
    "headers_any_case_spaces_underscores": _odd_headers,
    "extra_columns": _extra_columns,
    "blank_lines": _blank_lines,
    "duplicated_row": _duplicated_row,
    "load_numbers_instead_of_invoices": _load_numbers_only,
}


@pytest.mark.parametrize("case", sorted(WORKING))
def test_messy_purchase_report_is_read_right(setup, case):
    batch, loads, user = setup
    result = report_apply.preview(batch, "purchase", WORKING[case](loads), user, f"{case}.csv")
    assert result.ok, [str(e) for e in result.errors]
    assert result.counts["finance"] == 3
    report_apply.apply(result.upload, user)
    for load in reload(loads):
        fee = round(load.total_cents * 0.03)
        assert load.billing_status == FINANCED
        assert load.purchase_date == PURCHASE_DATE
        assert (load.advance_cents, load.fee_cents) == (load.total_cents - fee, fee)
        assert load.purchase_amount_cents == load.total_cents


def test_duplicated_row_is_skipped_and_reported(setup):
    batch, loads, user = setup
    result = report_apply.preview(batch, "purchase", _duplicated_row(loads), user, "dup.csv")
    assert result.counts["duplicate"] == 1
    assert any(w.row == 5 and "Repeats row 3" in w.message for w in result.warnings)


def test_windows_1252_text_is_kept(setup):
    batch, loads, user = setup
    rows = purchase_rows(loads)
    rows[0][7], rows[0][8] = "held", "Débiteur over limit – call Renée"
    data = csv_bytes(PURCHASE_COLUMNS, rows, encoding="cp1252")
    result = report_apply.preview(batch, "purchase", data, user, "cp1252.csv")
    report_apply.apply(result.upload, user)
    assert reload(loads)[0].status_reason == "Débiteur over limit – call Renée"


def test_parenthesised_negative_fee_adjustment_on_a_payment(setup):
    batch, loads, user = setup
    report_apply.apply(report_apply.preview(batch, "purchase", _purchase(loads), user).upload, user)
    rows = payment_rows(loads)
    rows[0][7] = "(12.50)"
    rows[0][3] = '$' + f"{loads[0].total_cents // 100:,}.{loads[0].total_cents % 100:02d}"
    result = report_apply.preview(batch, "payment", csv_bytes(PAYMENT_COLUMNS, rows, delimiter=";"), user)
    assert result.ok, [str(e) for e in result.errors]
    report_apply.apply(result.upload, user)
    payment = Payment.get(Payment.load == loads[0].id)
    assert payment.fee_adjustment_cents == -1250
    assert payment.amount_cents == loads[0].total_cents
    assert reload(loads)[0].billing_status == COMPLETED


# --- files that are refused with a row and a column -----------------------------------

def _row(index, column, value):
    """Purchase rows for the batch with one cell changed."""
    def build(loads, others):
        rows = purchase_rows(loads)
        rows[index][PURCHASE_COLUMNS.index(column)] = value(others) if callable(value) else value
        return csv_bytes(PURCHASE_COLUMNS, rows)
    return build


def _invoice_elsewhere(key):
    def build(loads, others):
        rows = purchase_rows(loads)
        rows.append([others[key].invoice_number, "", PURCHASE_DATE.isoformat(), "", "100.00", "", "", "", "", ""])
        return csv_bytes(PURCHASE_COLUMNS, rows)
    return build


def _conflicting_duplicate(loads, others):
    rows = purchase_rows(loads)
    twin = list(rows[0])
    twin[9] = "CD-OTHER"
    return csv_bytes(PURCHASE_COLUMNS, rows + [twin])


def _sum_off(loads, others):
    rows = purchase_rows(loads)
    rows[1][5] = format_cents(round(loads[1].total_cents * 0.03) + 7)
    return csv_bytes(PURCHASE_COLUMNS, rows)


ROW_ERRORS = {
    # case: (builder, row, column, message fragment)
    "bad_amount": (_row(0, "Advance Amount", "12O0.00"), 2, "Advance Amount", "'12O0.00' is not an amount"),
    "three_decimals": (_row(1, "Fee Amount", "1.005"), 3, "Fee Amount", "more than two decimals"),
    "negative_advance": (_row(1, "Advance Amount", "(10.00)"), 3, "Advance Amount", "cannot be negative"),
    "bad_date": (_row(2, "Purchase Date", "25/11/2026"), 4, "Purchase Date", "not a date"),
    "missing_date": (_row(2, "Purchase Date", ""), 4, "Purchase Date", "Purchase Date is required"),
    "unknown_status": (_row(0, "Status", "paid"), 2, "Status", "'paid' is not a status"),
    "held_without_reason": (_row(0, "Status", "held"), 2, "Reason", "Reason is required for a held invoice"),
    "unknown_load_number": (_row(1, "Load Number", "DT-99999"), 3, "Load Number",
                            "No such invoice or load number: DT-99999"),
    "invoice_of_another_batch": (_invoice_elsewhere("other_batch"), 5, "Invoice Number", "is in batch"),
    "invoice_of_another_subsidiary": (_invoice_elsewhere("other_subsidiary"), 5, "Invoice Number",
                                      "(Demo Logistics Inc) is not in any batch"),
    "invoice_of_another_tenant": (_invoice_elsewhere("other_tenant"), 5, "Invoice Number",
                                  "No such invoice or load number: INV-OC-"),
    "invoice_and_load_disagree": (_row(0, "Load Number", lambda o: o["other_batch"].load_number), 2,
                                  "Load Number", "is not the load of invoice"),
    "same_invoice_twice_with_other_figures": (_conflicting_duplicate, 5, "Invoice Number", "is also on row 2"),
    "advance_fee_reserve_do_not_add_up": (_sum_off, 3, "Advance Amount", "but the invoice amount is"),
}


@pytest.fixture
def others(setup, make_batch):
    """Loads the file should not name: in another batch, another subsidiary, another tenant."""
    batch, loads, user = setup
    _, in_other_batch = make_batch(count=1)
    other_sub = (Load.select().join_from(Load, Load.subsidiary.rel_model)
                 .where((Load.subsidiary.rel_model.name == "Demo Logistics Inc")
                        & (Load.billing_status == QUEUED) & Load.batch.is_null()).first())
    other_tenant = (Load.select().join_from(Load, Load.company.rel_model)
                    .where(Load.company.rel_model.name == "Other Carrier Co").first())
    return {"other_batch": in_other_batch[0], "other_subsidiary": other_sub, "other_tenant": other_tenant}


@pytest.mark.parametrize("case", sorted(ROW_ERRORS))
def test_bad_row_names_row_and_column_and_changes_nothing(setup, others, case):
    batch, loads, user = setup
    build, row, column, fragment = ROW_ERRORS[case]
    before = snapshot(previews=False)
    result = report_apply.preview(batch, "purchase", build(loads, others), user, f"{case}.csv")
    assert not result.ok
    assert any(e.row == row and e.column == column and fragment in e.message for e in result.errors), \
        [str(e) for e in result.errors]
    with pytest.raises(report_apply.ReportRefused):
        report_apply.apply(result.upload, user)
    assert snapshot(previews=False) == before


def test_another_tenants_invoice_looks_exactly_like_an_unknown_one(setup, others):
    batch, loads, user = setup
    theirs = others["other_tenant"].invoice_number
    rows = purchase_rows(loads) + [[theirs, "", "2026-11-25", "", "1.00", "", "", "", "", ""],
                                   ["INV-OC-NOPE", "", "2026-11-25", "", "1.00", "", "", "", "", ""]]
    result = report_apply.preview(batch, "purchase", csv_bytes(PURCHASE_COLUMNS, rows), user)
    messages = {e.row: e.message.replace(theirs, "X").replace("INV-OC-NOPE", "X") for e in result.errors}
    assert messages[5] == messages[6] == "No such invoice or load number: X."


def test_missing_invoice_is_listed_and_changes_nothing(setup):
    batch, loads, user = setup
    before = snapshot(previews=False)
    result = report_apply.preview(batch, "purchase", csv_bytes(PURCHASE_COLUMNS, purchase_rows(loads[:2])), user)
    assert [m.id for m in result.missing] == [loads[2].id]
    assert any(e.row is None and loads[2].invoice_number in e.message and "missing" in e.message
               for e in result.errors)
    with pytest.raises(report_apply.ReportRefused):
        report_apply.apply(result.upload, user)
    assert snapshot(previews=False) == before


# --- files refused whole --------------------------------------------------------------

def _damaged_xlsx(loads):
    return b"PK\x03\x04\x14\x00\x06\x00" + b"[Content_Types].xml" + b"\x00" * 64


FILE_ERRORS = {
    "pdf": (lambda loads: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "This file is a PDF document"),
    "damaged_xlsx": (_damaged_xlsx, "looks like a workbook (a ZIP) but is damaged"),
    "empty": (lambda loads: b"", "The file is empty"),
    "only_blank_lines": (lambda loads: b"\r\n\r\n  \r\n", "The file is empty"),
    "headers_only": (lambda loads: csv_bytes(PURCHASE_COLUMNS, []), "has its headers but no rows"),
    "payment_report_uploaded_as_purchase": (
        lambda loads: csv_bytes(PAYMENT_COLUMNS, payment_rows(loads)),
        "This is a Payment Report; upload it with Upload Payment Report."),
    "required_columns_missing": (
        lambda loads: csv_bytes(["Invoice Number", "Amount"], [["INV-1", "1.00"]]),
        "Required columns missing: Purchase Date, Advance Amount"),
    "batch_schedule_uploaded_back": (
        lambda loads: csv_bytes(["Invoice Number", "Load Number", "Invoice Date", "Customer", "Amount", "Terms"],
                                [["INV-1", "L-1", "2026-11-01", "Summit", "1.00", "30"]]),
        "This is the batch schedule sent to the factor"),
    "oversized": (lambda loads: b"Invoice Number,Purchase Date,Advance Amount\r\n" + b"x" * (10 * 1024 * 1024),
                  "the limit is 10 MB"),
    "too_many_rows": (lambda loads: b"Invoice Number,Purchase Date,Advance Amount\r\n"
                      + b"INV-1,2026-11-25,1.00\r\n" * 50_001, "more than 50,000 rows"),
}


@pytest.mark.parametrize("case", sorted(FILE_ERRORS))
def test_wrong_file_is_refused_whole_and_changes_nothing(setup, case):
    batch, loads, user = setup
    build, fragment = FILE_ERRORS[case]
    before = snapshot()
    uploads = ReportUpload.select().count()
    with pytest.raises(report_apply.ReportRefused) as refused:
        report_apply.preview(batch, "purchase", build(loads), user, f"{case}.csv")
    assert fragment in refused.value.message
    assert snapshot() == before
    assert ReportUpload.select().count() == uploads  # not even stored


def test_purchase_report_uploaded_as_payment_report_is_named(setup):
    batch, loads, user = setup
    with pytest.raises(report_apply.ReportRefused, match="This is a Purchase Report; upload it with Upload Purchase Report"):
        report_apply.preview(batch, "payment", _purchase(loads), user)


def test_the_same_file_twice_is_refused_with_date_and_user(setup):
    batch, loads, user = setup
    data = _purchase(loads)
    first = report_apply.preview(batch, "purchase", data, user, "first.csv")
    report_apply.apply(first.upload, user)
    before = snapshot()
    with pytest.raises(report_apply.ReportRefused) as refused:
        report_apply.preview(batch, "purchase", data, user, "again.csv")
    from webapp.services import local_time
    applied_on = local_time.format_datetime(ReportUpload.get_by_id(first.upload.id).applied_at, "America/Chicago")
    assert applied_on.endswith(("CST", "CDT"))  # the company's zone, not UTC
    assert f"already applied on {applied_on} by Blair Billing" in refused.value.message
    assert snapshot() == before


def test_batch_still_submitting_refuses_reports(in_app, world):
    # Created, its loads reserved (still Queued), its job running.
    batch = batches.create_batch(world.company, world.freight, world.eligible(2), world.billing)
    Batch.update(status=BATCH_RUNNING).where(Batch.id == batch.id).execute()
    batch = Batch.get_by_id(batch.id)
    loads = list(Load.select().where(Load.batch == batch.id).order_by(Load.load_number))
    with pytest.raises(report_apply.ReportRefused, match="still being generated"):
        report_apply.preview(batch, "purchase", _purchase(loads), world.billing)
    assert Load.select().where((Load.batch == batch.id) & (Load.billing_status == INVOICED)).count() == 0


def test_payment_dates_us_short_and_iso_are_read(setup):
    batch, loads, user = setup
    report_apply.apply(report_apply.preview(batch, "purchase", _purchase(loads), user).upload, user)
    rows = payment_rows(loads)
    rows[0][2], rows[1][2], rows[2][2] = "12/20/26", "12/20/2026", "2026-12-20"
    result = report_apply.preview(batch, "payment", csv_bytes(PAYMENT_COLUMNS, rows, delimiter="\t"), user)
    assert result.ok
    report_apply.apply(result.upload, user)
    assert {p.payment_date for p in Payment.select()} == {datetime.date(2026, 12, 20)}
